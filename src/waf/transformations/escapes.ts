/** Backslash-escape decoders: `t:jsDecode`, `t:cssDecode`, `t:escapeSeqDecode`. */
import { hexPair, isHexPair } from './url.js';

function isHexCode(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
function isOctal(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '7';
}
const CONTROL: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };

/** Full-width ASCII (U+FF01–U+FF5E) as ASCII, any other code point as its low byte. */
function wideToByte(high: number, low: number): number {
  if (high === 0xff && low > 0x00 && low < 0x5f) return low + 0x20;
  return low;
}

/**
 * `t:jsDecode` — `\uHHHH` (low byte, full-width ASCII mapped), `\xHH`, octal `\NNN`,
 * `\a \b \f \n \r \t \v`, and `\c` for any other char `c`.
 */
export function jsDecode(input: string): string {
  if (!input.includes('\\')) return input;
  let out = '';
  const n = input.length;
  let i = 0;
  while (i < n) {
    if (input[i] !== '\\' || i + 1 >= n) {
      out += input[i];
      i++;
      continue;
    }
    const e = input[i + 1] as string;
    if (e === 'u' && isHexPair(input, i + 2) && isHexPair(input, i + 4)) {
      out += String.fromCharCode(wideToByte(hexPair(input, i + 2), hexPair(input, i + 4)));
      i += 6;
    } else if (e === 'x' && isHexPair(input, i + 2)) {
      out += String.fromCharCode(hexPair(input, i + 2));
      i += 4;
    } else if (isOctal(e)) {
      let j = i + 1;
      const max = e <= '3' ? 3 : 2;
      while (j < n && j - (i + 1) < max && isOctal(input[j])) j++;
      out += String.fromCharCode(parseInt(input.slice(i + 1, j), 8));
      i = j;
    } else {
      const control = CONTROL[e];
      out += control !== undefined ? String.fromCharCode(control) : e;
      i += 2;
    }
  }
  return out;
}

/**
 * `t:cssDecode` — CSS 2 escapes: `\` + 1–6 hex digits (the last byte is kept, full-width
 * ASCII mapped, one following whitespace eaten), `\` + newline removed, `\c` → `c`.
 */
export function cssDecode(input: string): string {
  if (!input.includes('\\')) return input;
  let out = '';
  const n = input.length;
  let i = 0;
  while (i < n) {
    if (input[i] !== '\\') {
      out += input[i];
      i++;
      continue;
    }
    i++;
    if (i >= n) break; // a trailing backslash is dropped
    let j = 0;
    while (j < 6 && i + j < n && isHexCode(input.charCodeAt(i + j))) j++;
    if (j > 0) {
      const digits = input.slice(i, i + j);
      let value = parseInt(digits.slice(-2), 16);
      const fullCheck = j === 4 || (j === 5 && digits[0] === '0') || (j === 6 && digits.startsWith('00'));
      if (fullCheck && value > 0 && value < 0x5f && /^ff$/i.test(digits.slice(-4, -2))) value += 0x20;
      out += String.fromCharCode(value);
      i += j;
      if (i < n && /[\t\n\v\f\r ]/.test(input[i] as string)) i++;
    } else if (input[i] === '\n') {
      i++;
    } else {
      out += input[i];
      i++;
    }
  }
  return out;
}

const ANSI: Record<string, number> = { ...CONTROL, '\\': 0x5c, '?': 0x3f, "'": 0x27, '"': 0x22 };

/** `t:escapeSeqDecode` — ANSI C escapes (`\n`, `\xHH`, `\NNN`, `\\`, `\?`, quotes). */
export function escapeSeqDecode(input: string): string {
  if (!input.includes('\\')) return input;
  let out = '';
  const n = input.length;
  let i = 0;
  while (i < n) {
    if (input[i] !== '\\' || i + 1 >= n) {
      out += input[i];
      i++;
      continue;
    }
    const e = input[i + 1] as string;
    const simple = ANSI[e];
    if (simple !== undefined) {
      out += String.fromCharCode(simple);
      i += 2;
    } else if ((e === 'x' || e === 'X') && isHexPair(input, i + 2)) {
      out += String.fromCharCode(hexPair(input, i + 2));
      i += 4;
    } else if (isOctal(e)) {
      let j = i + 1;
      while (j < n && j - (i + 1) < 3 && isOctal(input[j])) j++;
      out += String.fromCharCode(parseInt(input.slice(i + 1, j), 8) & 0xff);
      i = j;
    } else {
      out += '\\' + e;
      i += 2;
    }
  }
  return out;
}
