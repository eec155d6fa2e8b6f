/**
 * Validation operators. They "match" when the value is invalid, so a rule fires on bad
 * input: `@validateByteRange`, `@validateUrlEncoding`, `@validateUtf8Encoding`.
 */
import { LiteralFilter } from '../regex/prefilter-index.js';
import type { OperatorFactory, PrefilteredOperator } from './types.js';
import { utf8CodePointAt, utf8Length } from '../utf8-sequence.js';

/**
 * `@validateByteRange 1-255` / `9,10,13,32-126` — matches when a byte is outside every
 * range. With a prefilter index, the bytes outside the ranges are registered as
 * literals: a value hits the filter exactly when it contains one (up to ASCII case, which
 * only over-approximates), so the rule-set-wide scan decides for this operator too.
 */
export const validateByteRange: OperatorFactory = (param, ctx) => {
  const allowed = new Uint8Array(256);
  for (const part of param.text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (!m) return `invalid byte range '${part}'`;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo > 255 || hi > 255 || hi < lo) return `invalid byte range '${part}'`;
    for (let b = lo; b <= hi; b++) allowed[b] = 1;
  }
  const op: PrefilteredOperator = (value) => {
    for (let i = 0; i < value.length; i++) if (allowed[value.charCodeAt(i) & 0xff] === 0) return true;
    return false;
  };
  if (ctx.prefilter) {
    const outside: string[] = [];
    for (let b = 0; b < 256; b++) if (allowed[b] === 0) outside.push(String.fromCharCode(b));
    op.prefilter = new LiteralFilter(ctx.prefilter, ctx.prefilter.register(outside));
  }
  return op;
};

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** `@validateUrlEncoding` — matches on a `%` not followed by two hex digits. */
export const validateUrlEncoding: OperatorFactory = () => (value) => {
  for (let i = value.indexOf('%'); i >= 0; i = value.indexOf('%', i + 1)) {
    if (i + 2 >= value.length) return true;
    if (!isHex(value.charCodeAt(i + 1)) || !isHex(value.charCodeAt(i + 2))) return true;
    i += 2;
  }
  return false;
};

/** True when `value` (bytes) is well-formed UTF-8 (no overlongs, surrogates, or > U+10FFFF). */
export function isValidUtf8(value: string): boolean {
  const n = value.length;
  let i = 0;
  while (i < n) {
    if (value.charCodeAt(i) < 0x80) {
      i++;
      continue;
    }
    const cp = utf8CodePointAt(value, i);
    if (cp === -1 || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += utf8Length(cp);
  }
  return true;
}

/** `@validateUtf8Encoding` — matches when the bytes are not valid UTF-8. */
export const validateUtf8Encoding: OperatorFactory = () => (value) => !isValidUtf8(value);
