/** `t:htmlEntityDecode`: numeric entities and the five named ones ModSecurity knows. */

/** A Map, so names like `constructor` are not found on Object.prototype. */
const NAMED = new Map<string, number>([
  ['quot', 0x22],
  ['amp', 0x26],
  ['lt', 0x3c],
  ['gt', 0x3e],
  ['nbsp', 0xa0],
]);

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
 * Jumps from `&` to `&` and copies the runs between them (`slice` is native).
 */
export function htmlEntityDecode(input: string): string {
  let i = input.indexOf('&');
  if (i < 0) return input;
  const n = input.length;
  let out = '';
  let start = 0;
  while (i >= 0 && i + 1 < n) {
    const entity = decodeEntityAt(input, i);
    if (entity !== undefined) {
      out += input.slice(start, i) + String.fromCharCode(entity.code);
      start = entity.end;
      i = input.indexOf('&', start);
    } else i = input.indexOf('&', i + 1);
  }
  return out + input.slice(start);
}

/** The entity starting with the `&` at `i`: its byte and the index after it, or undefined. */
function decodeEntityAt(input: string, i: number): { code: number; end: number } | undefined {
  const n = input.length;
  let j = i + 1;
  if (input[j] === '#') {
    j++;
    const hex = input[j] === 'x' || input[j] === 'X';
    if (hex) j++;
    const k = j;
    while (j < n && (hex ? isHex(input.charCodeAt(j)) : isDigit(input.charCodeAt(j)))) j++;
    if (j === k) return undefined;
    const code = parseInt(input.slice(k, j), hex ? 16 : 10) & 0xff;
    return { code, end: input[j] === ';' ? j + 1 : j };
  }
  const k = j;
  while (j < n && isAlnum(input.charCodeAt(j))) j++;
  const code = j > k ? NAMED.get(input.slice(k, j).toLowerCase()) : undefined;
  if (code === undefined) return undefined;
  return { code, end: input[j] === ';' ? j + 1 : j };
}
