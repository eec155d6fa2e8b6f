import { utf8CodePointAt, utf8Length } from '../utf8-sequence.js';

/**
 * `t:utf8toUnicode` — every valid multi-byte UTF-8 sequence becomes `%uXXXX` (lowercase
 * hex, at least four digits); ASCII and invalid bytes pass through unchanged.
 */
export function utf8toUnicode(input: string): string {
  if (!/[\x80-\xff]/.test(input)) return input;
  let out = '';
  const n = input.length;
  let i = 0;
  while (i < n) {
    const cp = utf8CodePointAt(input, i);
    if (cp === -1) {
      out += input[i];
      i++;
      continue;
    }
    out += '%u' + cp.toString(16).padStart(4, '0');
    i += utf8Length(cp);
  }
  return out;
}
