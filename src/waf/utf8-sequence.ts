/**
 * The code point of the multi-byte UTF-8 sequence at `bytes[i]` (a string of bytes, one per
 * char), or -1 when none starts there: a lead byte that cannot start one (ASCII included), a
 * sequence cut short or broken, an overlong form, or a value past U+10FFFF. Surrogates
 * (U+D800–U+DFFF) are returned: whether they are valid is the caller's to say. The
 * sequence's length follows from the value: {@link utf8Length}.
 */
export function utf8CodePointAt(bytes: string, i: number): number {
  const c = bytes.charCodeAt(i);
  let len: number;
  let cp: number;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    cp = c & 0x07;
  } else return -1;
  if (i + len > bytes.length) return -1;
  for (let k = 1; k < len; k++) {
    const b = bytes.charCodeAt(i + k);
    if ((b & 0xc0) !== 0x80) return -1;
    cp = (cp << 6) | (b & 0x3f);
  }
  if ((len === 3 && cp < 0x800) || (len === 4 && (cp < 0x10000 || cp > 0x10ffff))) return -1;
  return cp;
}

/** Bytes of the shortest UTF-8 form of `cp` (a value {@link utf8CodePointAt} returned: never 1). */
export function utf8Length(cp: number): number {
  return cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}
