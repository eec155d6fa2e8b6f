/** Compiles `setvar` and `setenv` action values. */
import type { SetVar } from '../engine/rule.js';
import { parseMacro } from '../macro.js';

/**
 * `tx.score=+%{tx.critical_anomaly_score}`, `tx.a=b`, `!tx.a`, `tx.flag` (sets "1"),
 * `tx.n=-1`. The key may contain macros.
 */
export function compileSetVar(text: string): SetVar | string {
  const sv = parseSetVar(text);
  if (typeof sv === 'string') return sv;
  return { ...sv, lower: sv.key.constant ? sv.key.text.toLowerCase() : undefined };
}

function parseSetVar(text: string): Omit<SetVar, 'lower'> | string {
  let rest = text.trim();
  let del = false;
  if (rest.startsWith('!')) {
    del = true;
    rest = rest.slice(1);
  }
  const dot = rest.indexOf('.');
  if (dot <= 0) return `setvar '${text}' needs collection.name`;
  const collection = rest.slice(0, dot).toUpperCase();
  if (!['TX', 'IP', 'GLOBAL', 'SESSION', 'USER', 'RESOURCE'].includes(collection)) return `setvar on unsupported collection ${collection}`;
  rest = rest.slice(dot + 1);
  const eq = rest.indexOf('=');
  if (del) return { collection, key: parseMacro(rest), op: 'delete', value: parseMacro('') };
  if (eq < 0) return { collection, key: parseMacro(rest), op: 'set', value: parseMacro('1') };
  const key = parseMacro(rest.slice(0, eq));
  let value = rest.slice(eq + 1);
  let op: SetVar['op'] = 'set';
  if (value.startsWith('+')) {
    op = 'add';
    value = value.slice(1);
  } else if (value.startsWith('-')) {
    op = 'sub';
    value = value.slice(1);
  }
  return { collection, key, op, value: parseMacro(value) };
}
