/**
 * Splits a SecRule action list ("id:1,phase:2,msg:'a, b',t:none") into name/value pairs.
 * Commas inside single quotes do not split; a value wrapped in single quotes loses them,
 * and `\'` inside such a value stands for a quote.
 */

/** One action as written: `name` lower-cased for lookup, `value` undefined when absent. */
export interface RawAction {
  name: string;
  value: string | undefined;
}

/** Parses an action list; returns an error message on an unclosed quote. */
export function parseActionList(text: string): RawAction[] | string {
  const actions: RawAction[] = [];
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    while (pos < n && (text[pos] === ',' || isBlank(text[pos]))) pos++;
    if (pos >= n) break;
    const nameStart = pos;
    while (pos < n && text[pos] !== ':' && text[pos] !== ',') pos++;
    const name = text.slice(nameStart, pos).trim().toLowerCase();
    if (pos >= n || text[pos] === ',') {
      actions.push({ name, value: undefined });
      continue;
    }
    pos++; // ':'
    while (pos < n && isBlank(text[pos])) pos++;
    let value = '';
    if (text[pos] === "'") {
      pos++;
      let closed = false;
      while (pos < n) {
        const c = text[pos];
        if (c === '\\' && text[pos + 1] === "'") {
          value += "'";
          pos += 2;
          continue;
        }
        if (c === "'") {
          closed = true;
          pos++;
          break;
        }
        value += c;
        pos++;
      }
      if (!closed) return `unterminated quote in value of action '${name}'`;
      // Anything up to the next comma after a closing quote is ignored, as ModSecurity does.
      while (pos < n && text[pos] !== ',') pos++;
    } else {
      const start = pos;
      while (pos < n && text[pos] !== ',') pos++;
      value = text.slice(start, pos).trim();
    }
    actions.push({ name, value });
  }
  return actions;
}

function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r';
}
