/** URL encoding transformations, on bytes. */
import { ByteOut } from './bytes-out.js';

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/** True when the two chars at `i` are hex digits. */
export function isHexPair(s: string, i: number): boolean {
  return i + 1 < s.length && hexValue(s.charCodeAt(i)) >= 0 && hexValue(s.charCodeAt(i + 1)) >= 0;
}

/** The byte value of the hex pair at `i` (caller checks with `isHexPair`). */
export function hexPair(s: string, i: number): number {
  return hexValue(s.charCodeAt(i)) * 16 + hexValue(s.charCodeAt(i + 1));
}

/**
 * `t:urlDecode` — `%XX` to its byte and `+` to space; a `%` not followed by two hex
 * digits is kept as it is (ModSecurity's non-strict decoder). Works on the runs
 * between escapes (`replaceAll` and `slice` are native), not byte by byte.
 */
export function urlDecode(input: string): string {
  return percentDecode(input.includes('+') ? input.replaceAll('+', ' ') : input, false);
}

/**
 * `t:urlDecodeUni` — `t:urlDecode` plus IIS-style `%uXXXX`: full-width ASCII
 * (U+FF01–U+FF5E) becomes its ASCII byte, any other code point its low byte.
 */
export function urlDecodeUni(input: string): string {
  return percentDecode(input.includes('+') ? input.replaceAll('+', ' ') : input, true);
}

/** Escapes this close together are decoded byte by byte (copying the runs between them would cost more). */
const DENSE_SAMPLE = 32;
const DENSE_SPAN = 128;

/** True when `%` occurs DENSE_SAMPLE times within DENSE_SPAN bytes from `p` (the first one). */
function dense(s: string, p: number): boolean {
  let q = p;
  for (let n = 1; n < DENSE_SAMPLE; n++) {
    q = s.indexOf('%', q + 1);
    if (q < 0 || q - p > DENSE_SPAN) return false;
  }
  return true;
}

/** Decodes `%XX` (and `%uXXXX` when `uni`) in `s`; other `%` stay. `+` is already handled. */
function percentDecode(s: string, uni: boolean): string {
  let p = s.indexOf('%');
  if (p < 0) return s;
  if (dense(s, p)) return percentDecodeBytes(s, uni);
  let out = '';
  let start = 0;
  while (p >= 0) {
    const u = s.charCodeAt(p + 1);
    if (uni && (u === 0x75 || u === 0x55) && isHexPair(s, p + 2) && isHexPair(s, p + 4)) {
      const code = hexPair(s, p + 2) * 256 + hexPair(s, p + 4);
      out += s.slice(start, p) + String.fromCharCode(code >= 0xff01 && code <= 0xff5e ? code - 0xfee0 : code & 0xff);
      start = p + 6;
    } else if (isHexPair(s, p + 1)) {
      out += s.slice(start, p) + String.fromCharCode(hexPair(s, p + 1));
      start = p + 3;
    } else {
      p = s.indexOf('%', p + 1);
      continue;
    }
    p = s.indexOf('%', start);
  }
  return out + s.slice(start);
}

/** `percentDecode` byte by byte. */
function percentDecodeBytes(s: string, uni: boolean): string {
  const out = new ByteOut(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const u = s.charCodeAt(i + 1);
      if (uni && (u === 0x75 || u === 0x55) && isHexPair(s, i + 2) && isHexPair(s, i + 4)) {
        const code = hexPair(s, i + 2) * 256 + hexPair(s, i + 4);
        out.push(code >= 0xff01 && code <= 0xff5e ? code - 0xfee0 : code & 0xff);
        i += 5;
        continue;
      }
      if (isHexPair(s, i + 1)) {
        out.push(hexPair(s, i + 1));
        i += 2;
        continue;
      }
    }
    out.push(c);
  }
  return out.toString();
}

/** `t:urlEncode` — everything but ASCII letters, digits and `*` as `%xx`; space as `+`. */
export function urlEncode(input: string): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const code = input.charCodeAt(i);
    if (code === 0x20) out += '+';
    else if (code === 0x2a || (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)) out += input[i];
    else out += '%' + code.toString(16).padStart(2, '0');
  }
  return out;
}
