/** `t:htmlEntityDecode`: numeric entities and the five named ones ModSecurity knows. */
import { ByteOut } from './bytes-out.js';

const NAMED: Record<string, number> = { quot: 0x22, amp: 0x26, lt: 0x3c, gt: 0x3e, nbsp: 0xa0 };

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
function isAlnum(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/**
 * Decodes `&#DDD;`, `&#xHH;` (the `;` optional, the value truncated to a byte) and
 * `&quot; &amp; &lt; &gt; &nbsp;` (case-insensitive, `;` optional); anything else stays.
 */
export function htmlEntityDecode(input: string): string {
  let i = input.indexOf('&');
  if (i < 0) return input;
  const out = new ByteOut(input.length);
  out.pushString(input.slice(0, i));
  const n = input.length;
  while (i < n) {
    if (input.charCodeAt(i) !== 0x26 || i + 1 >= n) {
      out.push(input.charCodeAt(i) & 0xff);
      i++;
      continue;
    }
    let j = i + 1;
    if (input[j] === '#') {
      j++;
      const hex = input[j] === 'x' || input[j] === 'X';
      if (hex) j++;
      const k = j;
      while (j < n && (hex ? isHex(input.charCodeAt(j)) : isDigit(input.charCodeAt(j)))) j++;
      if (j > k) {
        const value = parseInt(input.slice(k, j), hex ? 16 : 10);
        out.push(value & 0xff);
        if (input[j] === ';') j++;
        i = j;
        continue;
      }
    } else {
      const k = j;
      while (j < n && isAlnum(input.charCodeAt(j))) j++;
      const code = j > k ? NAMED[input.slice(k, j).toLowerCase()] : undefined;
      if (code !== undefined) {
        out.push(code);
        if (input[j] === ';') j++;
        i = j;
        continue;
      }
    }
    out.push(0x26);
    i++;
  }
  return out.toString();
}
