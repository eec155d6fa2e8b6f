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
 * digits is kept as it is (ModSecurity's non-strict decoder).
 */
export function urlDecode(input: string): string {
  if (!input.includes('%') && !input.includes('+')) return input;
  const out = new ByteOut(input.length);
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c === 0x25 && isHexPair(input, i + 1)) {
      out.push(hexPair(input, i + 1));
      i += 2;
    } else out.push(c === 0x2b ? 0x20 : c);
  }
  return out.toString();
}

/**
 * `t:urlDecodeUni` — `t:urlDecode` plus IIS-style `%uXXXX`: full-width ASCII
 * (U+FF01–U+FF5E) becomes its ASCII byte, any other code point its low byte.
 */
export function urlDecodeUni(input: string): string {
  if (!input.includes('%') && !input.includes('+')) return input;
  const out = new ByteOut(input.length);
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c === 0x25) {
      const u = input[i + 1];
      if ((u === 'u' || u === 'U') && isHexPair(input, i + 2) && isHexPair(input, i + 4)) {
        const code = hexPair(input, i + 2) * 256 + hexPair(input, i + 4);
        out.push(code >= 0xff01 && code <= 0xff5e ? code - 0xfee0 : code & 0xff);
        i += 5;
        continue;
      }
      if (isHexPair(input, i + 1)) {
        out.push(hexPair(input, i + 1));
        i += 2;
        continue;
      }
      out.push(c);
    } else out.push(c === 0x2b ? 0x20 : c);
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
