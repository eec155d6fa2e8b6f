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
    const c = input.charCodeAt(i);
    let len = 0;
    let cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    }
    let ok = len > 0 && i + len <= n;
    for (let k = 1; ok && k < len; k++) {
      const b = input.charCodeAt(i + k);
      if ((b & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (b & 0x3f);
    }
    if (ok && ((len === 3 && cp < 0x800) || (len === 4 && (cp < 0x10000 || cp > 0x10ffff)))) ok = false;
    if (!ok) {
      out += input[i];
      i++;
      continue;
    }
    out += '%u' + cp.toString(16).padStart(4, '0');
    i += len;
  }
  return out;
}
