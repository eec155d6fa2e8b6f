/**
 * String comparison operators. All are case-sensitive and byte-wise; parameters may
 * contain macros.
 */
import type { OperatorFactory } from './types.js';

/** `@streq` — value equals the parameter. */
export const streq: OperatorFactory = (param) => (value, rt) => value === rt.expand(param);

/** `@beginsWith`. */
export const beginsWith: OperatorFactory = (param) => (value, rt) => value.startsWith(rt.expand(param));

/** `@endsWith`. */
export const endsWith: OperatorFactory = (param) => (value, rt) => value.endsWith(rt.expand(param));

/** `@contains` — the parameter occurs in the value. */
export const contains: OperatorFactory = (param) => (value, rt) => value.includes(rt.expand(param));

/** `@strmatch` — same as `@contains` (ModSecurity uses Boyer-Moore for it). */
export const strmatch: OperatorFactory = contains;

/** `@within` — the value occurs in the parameter (an empty value always matches). */
export const within: OperatorFactory = (param) => (value, rt) => rt.expand(param).includes(value);

function isWordByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/** `@containsWord` — the parameter occurs bounded by non-word bytes or the ends. */
export const containsWord: OperatorFactory = (param) => (value, rt) => {
  const word = rt.expand(param);
  if (word === '') return true;
  for (let i = value.indexOf(word); i >= 0; i = value.indexOf(word, i + 1)) {
    const before = i === 0 || !isWordByte(value.charCodeAt(i - 1));
    const end = i + word.length;
    const after = end >= value.length || !isWordByte(value.charCodeAt(end));
    if (before && after) return true;
  }
  return false;
};
