/**
 * The XSS decision: tokenize the input as HTML, from the text state and from inside each kind
 * of attribute value, and flag dangerous tags, event handler and URL attributes with
 * javascript:/data:/vbscript:/view-source: values, styles, doctypes and IE/XML comment tricks.
 * The lists and rules are those of libinjection 3.9.2.
 */
import { Html5Start, Html5Tokenizer, Html5Type } from './html5-tokenizer.js';

// What an attribute's value means.
const ATTR_NONE = 0;
/** Dangerous whatever the value. */
const ATTR_BLACK = 1;
/** Takes a URL: dangerous when the URL is a script or data scheme. */
const ATTR_URL = 2;
/** Inline style: always dangerous (expressions, behaviors). */
const ATTR_STYLE = 3;
/** SVG's attributeName: the value names another attribute. */
const ATTR_INDIRECT = 4;

const BLACK_ATTRS: ReadonlyArray<readonly [name: string, kind: number]> = [
  ['ACTION', ATTR_URL], // form
  ['ATTRIBUTENAME', ATTR_INDIRECT], // SVG
  ['BY', ATTR_URL], // SVG
  ['BACKGROUND', ATTR_URL], // IE6, O11
  ['DATAFORMATAS', ATTR_BLACK], // IE
  ['DATASRC', ATTR_BLACK], // IE
  ['DYNSRC', ATTR_URL], // obsolete img attribute
  ['FILTER', ATTR_STYLE], // Opera, SVG inline style
  ['FORMACTION', ATTR_URL], // HTML5
  ['FOLDER', ATTR_URL], // IE, on A tags
  ['FROM', ATTR_URL], // SVG
  ['HANDLER', ATTR_URL], // SVG Tiny, Opera
  ['HREF', ATTR_URL],
  ['LOWSRC', ATTR_URL], // obsolete img attribute
  ['POSTER', ATTR_URL], // Opera 10, 11
  ['SRC', ATTR_URL],
  ['STYLE', ATTR_STYLE],
  ['TO', ATTR_URL], // SVG
  ['VALUES', ATTR_URL], // SVG
  ['XLINK:HREF', ATTR_URL],
];

const BLACK_TAGS: readonly string[] = [
  'APPLET',
  'BASE',
  'COMMENT', // IE
  'EMBED',
  'FRAME',
  'FRAMESET',
  'HANDLER', // Opera SVG: a script tag in effect
  'IFRAME',
  'IMPORT',
  'ISINDEX',
  'LINK',
  'LISTENER',
  'META',
  'NOSCRIPT',
  'OBJECT',
  'SCRIPT',
  'STYLE',
  'VMLFRAME',
  'XML',
  'XSS',
];

/** URL schemes that run code or smuggle content (JAVA covers JAVASCRIPT). */
const BLACK_URL_PREFIXES: readonly string[] = ['DATA', 'VIEW-SOURCE', 'JAVA', 'VBSCRIPT'];

function upper(c: number): number {
  return c >= 0x61 && c <= 0x7a ? c - 0x20 : c;
}

/** The byte at `i`, or 0 past the end (where the C string has its NUL). */
function byteAt(s: string, i: number): number {
  return i < s.length ? s.charCodeAt(i) : 0;
}

/**
 * Whether `len` bytes of `s` at `start`, NULs left out and a-z upper-cased, are exactly `word`
 * (browsers skip NULs in names).
 */
function equalsSkippingNul(s: string, start: number, len: number, word: string): boolean {
  let j = 0;
  for (let i = start, end = start + len; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) continue;
    if (j >= word.length || upper(c) !== word.charCodeAt(j)) return false;
    j++;
  }
  return j === word.length;
}

function isLetterPair(s: string, at: number, lower0: number, lower1: number): boolean {
  return (s.charCodeAt(at) | 0x20) === lower0 && (s.charCodeAt(at + 1) | 0x20) === lower1;
}

/** Names grouped by first letter, so a name is compared only with those it could equal. */
function byFirstLetter<T>(items: readonly T[], name: (item: T) => string): T[][] {
  const groups: T[][] = Array.from({ length: 128 }, () => []);
  for (const item of items) groups[name(item).charCodeAt(0)]?.push(item);
  return groups;
}
const TAGS_BY_LETTER = byFirstLetter(BLACK_TAGS, (tag) => tag);
const ATTRS_BY_LETTER = byFirstLetter(BLACK_ATTRS, ([name]) => name);
const NONE: readonly never[] = [];

/** The first byte that is not NUL, upper-cased (NUL bytes are skipped in names). */
function firstLetter(s: string, start: number, len: number): number {
  for (let i = start, end = start + len; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0) return upper(c);
  }
  return 0;
}

function isBlackTag(s: string, start: number, len: number): boolean {
  if (len < 3) return false;
  for (const tag of TAGS_BY_LETTER[firstLetter(s, start, len)] ?? NONE) if (equalsSkippingNul(s, start, len, tag)) return true;
  // anything SVG or XSL(T)
  const c2 = s.charCodeAt(start + 2) | 0x20;
  if (isLetterPair(s, start, 0x73, 0x76) && c2 === 0x67) return true;
  if (isLetterPair(s, start, 0x78, 0x73) && c2 === 0x6c) return true;
  return false;
}

function blackAttrKind(s: string, start: number, len: number): number {
  if (len < 2) return ATTR_NONE;
  if (len >= 5) {
    // on* event handlers
    if (isLetterPair(s, start, 0x6f, 0x6e)) return ATTR_BLACK;
    // xmlns and xlink can create arbitrary tags
    if (equalsSkippingNul(s, start, 5, 'XMLNS') || equalsSkippingNul(s, start, 5, 'XLINK')) return ATTR_BLACK;
  }
  for (const [name, kind] of ATTRS_BY_LETTER[firstLetter(s, start, len)] ?? NONE) if (equalsSkippingNul(s, start, len, name)) return kind;
  return ATTR_NONE;
}

/** Bytes read by the last decodeCharAt call (a module variable: no allocation per char). */
let consumed = 0;

const HEX_VALUE = new Int16Array(256).fill(256);
for (let c = 0; c < 10; c++) HEX_VALUE[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX_VALUE[0x41 + c] = 10 + c;
  HEX_VALUE[0x61 + c] = 10 + c;
}

function hexValue(c: number): number {
  return HEX_VALUE[c] ?? 256;
}

/**
 * The char at `at` with numeric character references (&#65; &#x41;) decoded; sets `consumed`.
 * Named references stay '&'. As in the C code, the bytes right after '&#' are read even when
 * they lie past `len` (they are then the byte after the token, or the NUL ending the input).
 */
function decodeCharAt(s: string, at: number, len: number): number {
  consumed = 1;
  const c = s.charCodeAt(at);
  if (c !== 0x26 || len < 2) return c;
  if (byteAt(s, at + 1) !== 0x23) return 0x26;
  const c2 = byteAt(s, at + 2);
  let val: number;
  if (c2 === 0x78 || c2 === 0x58) {
    val = hexValue(byteAt(s, at + 3));
    if (val === 256) return 0x26;
    let i = 4;
    for (; i < len; i++) {
      const ch = s.charCodeAt(at + i);
      if (ch === 0x3b) {
        consumed = i + 1;
        return val;
      }
      const d = hexValue(ch);
      if (d === 256) {
        consumed = i;
        return val;
      }
      val = val * 16 + d;
      if (val > 0x1000ff) return 0x26;
    }
    consumed = i;
    return val;
  }
  if (c2 < 0x30 || c2 > 0x39) return 0x26;
  val = c2 - 0x30;
  let i = 3;
  for (; i < len; i++) {
    const ch = s.charCodeAt(at + i);
    if (ch === 0x3b) {
      consumed = i + 1;
      return val;
    }
    if (ch < 0x30 || ch > 0x39) {
      consumed = i;
      return val;
    }
    val = val * 10 + (ch - 0x30);
    if (val > 0x1000ff) return 0x26;
  }
  consumed = i;
  return val;
}

/**
 * Whether the HTML-encoded bytes start with `prefix` (upper-case ASCII), ignoring case, leading
 * white space and control chars, and NUL and \n anywhere. A decoded char is compared by its low
 * byte, as the C code casts it to char.
 */
function htmlStartsWith(prefix: string, s: string, start: number, len: number): boolean {
  let at = start;
  let n = len;
  let k = 0;
  let first = true;
  while (n > 0) {
    if (k === prefix.length) return true;
    let cb = decodeCharAt(s, at, n);
    at += consumed;
    n -= consumed;
    if (first && cb <= 32) continue;
    first = false;
    if (cb === 0 || cb === 10) continue;
    if (cb >= 0x61 && cb <= 0x7a) cb -= 0x20;
    if ((cb & 0xff) !== prefix.charCodeAt(k)) return false;
    k++;
  }
  return k === prefix.length;
}

function isBlackUrl(s: string, start: number, len: number): boolean {
  // Skip white space, control chars and all bytes above 0x7e (some browsers skip UTF-8 spaces).
  let at = start;
  let n = len;
  while (n > 0) {
    const c = s.charCodeAt(at);
    if (c > 32 && c < 127) break;
    at++;
    n--;
  }
  for (const prefix of BLACK_URL_PREFIXES) if (htmlStartsWith(prefix, s, at, n)) return true;
  return false;
}

function isBlackComment(s: string, start: number, len: number): boolean {
  // IE ends tags at '`' (a bounded scan: indexOf would read on past the comment)
  for (let i = start, end = start + len; i < end; i++) if (s.charCodeAt(i) === 0x60) return true;
  if (len > 3) {
    // IE conditional comments, XML processing instructions
    if (s.charCodeAt(start) === 0x5b && isLetterPair(s, start + 1, 0x69, 0x66)) return true;
    if (isLetterPair(s, start, 0x78, 0x6d) && (s.charCodeAt(start + 2) | 0x20) === 0x6c) return true;
  }
  if (len > 5) {
    // IE's <?import, XML entity definitions
    if (equalsSkippingNul(s, start, 6, 'IMPORT') || equalsSkippingNul(s, start, 6, 'ENTITY')) return true;
  }
  return false;
}

const tokenizer = new Html5Tokenizer();

/** Whether the HTML tokens of `s`, read from the `start` state, contain an XSS vector. */
export function isXssFrom(s: string, start: Html5Start): boolean {
  const h = tokenizer;
  h.init(s, start);
  let attr = ATTR_NONE;
  while (h.next()) {
    const type = h.tokenType;
    if (type !== Html5Type.AttrValue) attr = ATTR_NONE;
    switch (type) {
      case Html5Type.Doctype:
        return true;
      case Html5Type.TagNameOpen:
        if (isBlackTag(s, h.tokenStart, h.tokenLen)) return true;
        break;
      case Html5Type.AttrName:
        attr = blackAttrKind(s, h.tokenStart, h.tokenLen);
        break;
      case Html5Type.AttrValue:
        if (attr === ATTR_BLACK || attr === ATTR_STYLE) return true;
        if (attr === ATTR_URL && isBlackUrl(s, h.tokenStart, h.tokenLen)) return true;
        if (attr === ATTR_INDIRECT && blackAttrKind(s, h.tokenStart, h.tokenLen) !== ATTR_NONE) return true;
        attr = ATTR_NONE;
        break;
      case Html5Type.TagComment:
        if (isBlackComment(s, h.tokenStart, h.tokenLen)) return true;
        break;
    }
  }
  return false;
}

/** Whether `s` (one byte per char) holds an XSS vector in any HTML context. */
export function isXss(s: string): boolean {
  // Every rule needs a tag ('<') or an attribute value after a name ('='): without either, no
  // context can match, and most values are answered by this scan alone.
  if (s.indexOf('<') < 0 && s.indexOf('=') < 0) return false;
  return (
    isXssFrom(s, Html5Start.Data) ||
    isXssFrom(s, Html5Start.ValueNoQuote) ||
    isXssFrom(s, Html5Start.ValueSingleQuote) ||
    isXssFrom(s, Html5Start.ValueDoubleQuote) ||
    isXssFrom(s, Html5Start.ValueBackQuote)
  );
}
