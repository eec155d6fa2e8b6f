/**
 * PCRE character classes and escapes rewritten for a JavaScript regex run without the
 * `u` flag on latin1 byte strings. PCRE (without UCP) has ASCII-only `\s`; JavaScript's
 * `\s` also matches 0xA0 (a byte that is not whitespace in ModSecurity), so `\s` is
 * narrowed to its PCRE meaning everywhere.
 */

/** The PCRE `\s` set (space, \t \n \v \f \r) as class contents. */
export const SPACE_CLASS_BODY = '\\t-\\r ';
/** PCRE `\h`: horizontal whitespace bytes. */
export const HSPACE_CLASS_BODY = '\\t \\xa0';
/** PCRE `\v`: vertical whitespace bytes. */
export const VSPACE_CLASS_BODY = '\\n-\\r\\x85';

const POSIX: Record<string, string> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: SPACE_CLASS_BODY,
  blank: ' \\t',
  punct: '!-\\/:-@\\[-`{-~',
  xdigit: '0-9A-Fa-f',
  word: '\\w',
  cntrl: '\\x00-\\x1f\\x7f',
  print: '\\x20-\\x7e',
  graph: '\\x21-\\x7e',
  ascii: '\\x00-\\x7f',
};

/** Escapes one code unit for use inside or outside a JavaScript class. */
export function literal(code: number): string {
  if (code < 0x20 || code > 0x7e) return '\\x' + code.toString(16).padStart(2, '0');
  const c = String.fromCharCode(code);
  return /[\\^$.*+?()[\]{}|\/-]/.test(c) ? '\\' + c : c;
}

/** The other-case letter of an ASCII letter, or undefined. */
export function otherCase(code: number): number | undefined {
  if (code >= 0x41 && code <= 0x5a) return code + 32;
  if (code >= 0x61 && code <= 0x7a) return code - 32;
  return undefined;
}

/** Result of reading a class: the JavaScript text and where the PCRE class ended. */
export interface ClassRead {
  text: string;
  end: number;
  /** Letters appear in the class (so case-insensitivity matters to it). */
  hasLetters: boolean;
  /** A PCRE-only construct was rewritten. */
  translated: boolean;
}

/**
 * Reads a class starting at `start` (the `[`), returns JavaScript class text.
 * `caseless` adds the other case of every ASCII letter and letter range.
 */
export function readClass(p: string, start: number, caseless: boolean): ClassRead | string {
  let pos = start + 1;
  let negate = false;
  if (p[pos] === '^') {
    negate = true;
    pos++;
  }
  const parts: string[] = [];
  let hasLetters = false;
  let translated = false;
  let first = true;
  const ranges: Array<[number, number]> = [];
  while (pos < p.length) {
    const c = p[pos];
    if (c === ']' && !first) {
      if (caseless) for (const [lo, hi] of ranges) parts.push(...caseRanges(lo, hi));
      const body = parts.join('');
      return { text: '[' + (negate ? '^' : '') + body + ']', end: pos + 1, hasLetters, translated };
    }
    if (c === ']' && first) translated = true; // PCRE: a leading ']' is literal
    first = false;
    if (c === '[' && p[pos + 1] === ':') {
      const close = p.indexOf(':]', pos + 2);
      const name = close > 0 ? p.slice(pos + 2, close) : '';
      if (close > 0 && /^\^?[a-z]+$/.test(name)) {
        const body = POSIX[name];
        if (body === undefined || name.startsWith('^')) return `unsupported POSIX class [:${name}:]`;
        parts.push(body);
        hasLetters ||= /[a-zA-Z]/.test(body);
        translated = true;
        pos = close + 2;
        continue;
      }
    }
    // One endpoint: a char, or an escape that is a set.
    const item = readClassAtom(p, pos);
    if (typeof item === 'string') return item;
    pos = item.end;
    translated ||= item.translated;
    if (item.set !== undefined) {
      parts.push(item.set);
      continue;
    }
    let lo = item.code;
    if (p[pos] === '-' && p[pos + 1] !== ']' && pos + 1 < p.length) {
      const hiItem = readClassAtom(p, pos + 1);
      if (typeof hiItem === 'string') return hiItem;
      if (hiItem.set === undefined) {
        const hi = hiItem.code;
        pos = hiItem.end;
        if (hi < lo) return `invalid range in character class`;
        parts.push(literal(lo) + '-' + literal(hi));
        if (rangeHasLetters(lo, hi)) {
          hasLetters = true;
          ranges.push([lo, hi]);
        }
        continue;
      }
    }
    parts.push(literal(lo));
    if (otherCase(lo) !== undefined) {
      hasLetters = true;
      ranges.push([lo, lo]);
    }
  }
  return 'missing terminating ] for character class';
}

function rangeHasLetters(lo: number, hi: number): boolean {
  return (lo <= 0x5a && hi >= 0x41) || (lo <= 0x7a && hi >= 0x61);
}

function caseRanges(lo: number, hi: number): string[] {
  const out: string[] = [];
  const upLo = Math.max(lo, 0x41),
    upHi = Math.min(hi, 0x5a);
  if (upLo <= upHi) out.push(literal(upLo + 32) + '-' + literal(upHi + 32));
  const lowLo = Math.max(lo, 0x61),
    lowHi = Math.min(hi, 0x7a);
  if (lowLo <= lowHi) out.push(literal(lowLo - 32) + '-' + literal(lowHi - 32));
  return out;
}

interface ClassAtom {
  code: number;
  set?: string;
  end: number;
  translated: boolean;
}

function readClassAtom(p: string, pos: number): ClassAtom | string {
  const c = p[pos];
  if (c !== '\\') return { code: p.charCodeAt(pos), end: pos + 1, translated: false };
  const e = p[pos + 1];
  if (e === undefined) return 'trailing backslash';
  switch (e) {
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 'S':
      return { code: 0, set: '\\' + e, end: pos + 2, translated: false };
    case 's':
      return { code: 0, set: SPACE_CLASS_BODY, end: pos + 2, translated: false };
    case 'h':
      return { code: 0, set: HSPACE_CLASS_BODY, end: pos + 2, translated: true };
    case 'v':
      return { code: 0, set: VSPACE_CLASS_BODY, end: pos + 2, translated: true };
    case 'H':
    case 'V':
    case 'p':
    case 'P':
      return `unsupported escape \\${e} in character class`;
    case 'b':
      return { code: 8, end: pos + 2, translated: false };
  }
  const esc = readCharEscape(p, pos);
  if (typeof esc === 'string') return esc;
  return { code: esc.code, end: esc.end, translated: esc.translated };
}

/** Reads an escape that denotes one character (`\n`, `\x41`, `\x{41}`, `\012`, `\.`). */
export function readCharEscape(p: string, pos: number): { code: number; end: number; translated: boolean } | string {
  const e = p[pos + 1] ?? '';
  const simple: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, a: 7, e: 27 };
  const s = simple[e];
  if (s !== undefined) return { code: s, end: pos + 2, translated: e === 'a' || e === 'e' };
  if (e === 'x') {
    if (p[pos + 2] === '{') {
      const close = p.indexOf('}', pos + 3);
      const hex = close > 0 ? p.slice(pos + 3, close) : '';
      if (!/^[0-9a-fA-F]{1,6}$/.test(hex)) return 'invalid \\x{...} escape';
      const code = parseInt(hex, 16);
      if (code > 0xff) return `\\x{${hex}} is beyond a byte (patterns run on bytes)`;
      return { code, end: close + 1, translated: true };
    }
    const m = /^[0-9a-fA-F]{1,2}/.exec(p.slice(pos + 2, pos + 4));
    const hex = m ? m[0] : '';
    return { code: hex ? parseInt(hex, 16) : 0, end: pos + 2 + hex.length, translated: hex.length !== 2 };
  }
  if (e === 'o' && p[pos + 2] === '{') {
    const close = p.indexOf('}', pos + 3);
    const oct = close > 0 ? p.slice(pos + 3, close) : '';
    if (!/^[0-7]{1,3}$/.test(oct) || parseInt(oct, 8) > 0xff) return 'invalid \\o{...} escape';
    return { code: parseInt(oct, 8), end: close + 1, translated: true };
  }
  if (e >= '0' && e <= '7') {
    const m = /^[0-7]{1,3}/.exec(p.slice(pos + 1, pos + 4));
    const oct = m ? m[0] : '0';
    return { code: parseInt(oct, 8) & 0xff, end: pos + 1 + oct.length, translated: true };
  }
  if (e === 'c') {
    const ch = p.charCodeAt(pos + 2);
    if (Number.isNaN(ch)) return 'invalid \\c escape';
    return { code: (ch >= 0x61 && ch <= 0x7a ? ch - 32 : ch) ^ 0x40, end: pos + 3, translated: true };
  }
  if (/[A-Za-z]/.test(e) && !/[A-Za-z]/.test('')) {
    // PCRE1 treats an unknown letter escape as the letter itself.
    if (/[gkQEpPXCKGRNLlUu]/.test(e)) return `unsupported escape \\${e}`;
  }
  return { code: p.charCodeAt(pos + 1), end: pos + 2, translated: false };
}
