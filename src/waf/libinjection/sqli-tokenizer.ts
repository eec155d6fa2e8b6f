/**
 * The SQL tokenizer of the SQLi detector: reads one token at a time from a byte string the way
 * libinjection 3.9.2 does, including its quirks (NUL and 0xA0 count as white space, a word stops
 * at a '.' or '`' when its head is a keyword, texts are cut to 31 bytes, bytes above 0x7f behave
 * as C's signed chars where the C code compares them).
 *
 * Input strings hold one byte per char (latin1). Everything works on char codes and offsets;
 * the only strings built are token texts.
 */
import { BYTE_PARSERS } from './sqli-data.js';
import { entryType, pairType, wordEntry, wordType } from './sqli-lookup.js';
import { FLAG_QUOTE_DOUBLE, FLAG_QUOTE_SINGLE, FLAG_SQL_ANSI, FLAG_SQL_MYSQL, Token, TOKEN_TEXT_MAX, TYPES } from './sqli-token.js';

// Module-local copies (see TYPES).
const {
  TYPE_BACKSLASH,
  TYPE_BAREWORD,
  TYPE_COLON,
  TYPE_COMMENT,
  TYPE_DOT,
  TYPE_EVIL,
  TYPE_FUNCTION,
  TYPE_NONE,
  TYPE_NUMBER,
  TYPE_OPERATOR,
  TYPE_STRING,
  TYPE_UNKNOWN,
  TYPE_VARIABLE,
} = TYPES;

const SINGLE = 0x27; // '
const DOUBLE = 0x22; // "
const TICK = 0x60; // `
const BACKSLASH = 0x5c;
const DOLLAR = 0x24;
const DOT = 0x2e;
const STAR = 0x2a;
const SLASH = 0x2f;
const DASH = 0x2d;

// Byte classes. The C code tests membership with strchr on a C string, which also finds the
// terminating NUL: so NUL belongs to every set, both where a set stops a scan and where it
// continues one.
const WHITE = 1;
const WORD_STOP = 2;
const VAR_STOP = 4;
const BIN_DIGIT = 8;
const HEX_DIGIT = 16;
const MONEY_CHAR = 32;
const LETTER = 64;

const BYTE_CLASS = new Uint8Array(256);
function addClass(chars: string, bit: number): void {
  BYTE_CLASS[0] = (BYTE_CLASS[0] ?? 0) | bit;
  for (let i = 0; i < chars.length; i++) {
    const c = chars.charCodeAt(i);
    BYTE_CLASS[c] = (BYTE_CLASS[c] ?? 0) | bit;
  }
}
addClass(' \t\n\v\f\r\xa0', WHITE);
addClass(' []{}<>:\\?=@!#~+-*/&|^%(),\';\t\n\v\f\r"\xa0', WORD_STOP);
addClass(" <>:\\?=@!#~+-*/&|^%(),';\t\n\v\f\r'`\"", VAR_STOP);
addClass('01', BIN_DIGIT);
addClass('0123456789ABCDEFabcdef', HEX_DIGIT);
addClass('0123456789.,', MONEY_CHAR);
addClass('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', LETTER);

function inClass(c: number, bit: number): boolean {
  return ((BYTE_CLASS[c] ?? 0) & bit) !== 0;
}

/** Whether a byte is SQL white space for libinjection (includes NUL and 0xA0). */
function isSqlWhite(c: number): boolean {
  return inClass(c, WHITE);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

// Parsers, by the letter sqli-data.ts gives each byte.
const P_WHITE = 0;
const P_OPERATOR1 = 1;
const P_OPERATOR2 = 2;
const P_STRING = 3;
const P_HASH = 4;
const P_MONEY = 5;
const P_CHAR = 6;
const P_DASH = 7;
const P_NUMBER = 8;
const P_SLASH = 9;
const P_BACKSLASH = 10;
const P_OTHER = 11;
const P_VAR = 12;
const P_WORD = 13;
const P_BSTRING = 14;
const P_ESTRING = 15;
const P_NQSTRING = 16;
const P_QSTRING = 17;
const P_USTRING = 18;
const P_XSTRING = 19;
const P_BWORD = 20;
const P_TICK = 21;

const PARSER_LETTERS = 'woOshmcdnlkuvaBENQUXbt';
const PARSER_OF_BYTE = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  const p = PARSER_LETTERS.indexOf(BYTE_PARSERS.charAt(b));
  if (p < 0) throw new Error(`sqli-data: no parser for byte ${b}`);
  PARSER_OF_BYTE[b] = p;
}

/** Tokenizer and folding state for one pass over one input; reused between inputs. */
export class SqliState {
  /** The input, one byte per char. */
  s = '';
  /** Its length. */
  slen = 0;
  /** FLAG_* of the pass. */
  flags = 0;
  /** Where the next token starts. */
  pos = 0;
  /** Tokens; the folding keeps up to 5 and looks one or two ahead, 8 as in the C struct. */
  readonly tokens: readonly Token[] = [new Token(), new Token(), new Token(), new Token(), new Token(), new Token(), new Token(), new Token()];
  /** The token the tokenizer writes next. */
  current: Token;
  /** Comment seen last while folding (folding drops comments but may put the last one back). */
  readonly lastComment = new Token();
  /** Fingerprint of the pass, once folded (see fingerprintPass). */
  fingerprint = '';
  /** '--' followed by a non-space: a comment in ANSI SQL, two minus signs in MySQL. */
  statsCommentDdx = 0;
  /** '#' seen: an operator in ANSI SQL, a comment in MySQL. */
  statsCommentHash = 0;
  /** Tokens the tokenizer returned in this pass, comments included. */
  statsTokens = 0;
  /** Folding: whether the input may have more tokens. */
  more = false;

  constructor() {
    this.current = this.tokens[0] as Token;
  }

  /** Starts a pass over `s` with FLAG_* `flags`. */
  reset(s: string, flags: number): void {
    this.s = s;
    this.slen = s.length;
    this.flags = flags;
    this.pos = 0;
    for (const t of this.tokens) t.clear();
    this.current = this.tokens[0] as Token;
    this.lastComment.clear();
    this.fingerprint = '';
    this.statsCommentDdx = 0;
    this.statsCommentHash = 0;
    this.statsTokens = 0;
    this.more = false;
  }
}

/** Sets a token's type, place and text (the text cut to TOKEN_TEXT_MAX). */
function assign(st: SqliState, type: number, pos: number, len: number): void {
  const t = st.current;
  const kept = len < TOKEN_TEXT_MAX + 1 ? len : TOKEN_TEXT_MAX;
  t.type = type;
  t.pos = pos;
  t.len = kept;
  t.val = st.s.substring(pos, pos + kept);
  t.entry = -1;
}

/** Sets a one-char token. */
function assignChar(st: SqliState, type: number, pos: number): void {
  const t = st.current;
  t.type = type;
  t.pos = pos;
  t.len = 1;
  t.val = st.s.charAt(pos);
  t.entry = -1;
}

/** Length of the run from `from` (up to `end`) of bytes in class `bit`. */
function spanIn(s: string, from: number, end: number, bit: number): number {
  let i = from;
  while (i < end && inClass(s.charCodeAt(i), bit)) i++;
  return i - from;
}

/** Length of the run from `from` (up to `end`) of bytes outside class `bit`. */
function spanOut(s: string, from: number, end: number, bit: number): number {
  let i = from;
  while (i < end && !inClass(s.charCodeAt(i), bit)) i++;
  return i - from;
}

/** Whether the quote just after `end` is escaped by an odd run of backslashes back to `start`. */
function backslashEscaped(s: string, end: number, start: number): boolean {
  let i = end;
  while (i >= start && s.charCodeAt(i) === BACKSLASH) i--;
  return ((end - i) & 1) === 1;
}

/**
 * A quoted string starting at `pos`: `offset` chars of prefix (0 when the quote is only
 * assumed, as in the quote-context passes). A quote closes it unless backslash-escaped or
 * doubled.
 */
function parseStringCore(st: SqliState, pos: number, delim: number, offset: number): number {
  const s = st.s;
  const slen = st.slen;
  const t = st.current;
  const quote = String.fromCharCode(delim);
  const start = pos + offset;
  let q = s.indexOf(quote, start);
  t.strOpen = offset > 0 ? delim : 0;
  for (;;) {
    if (q < 0) {
      assign(st, TYPE_STRING, start, slen - start);
      t.strClose = 0;
      return slen;
    }
    if (backslashEscaped(s, q - 1, start)) {
      q = s.indexOf(quote, q + 1);
    } else if (q + 1 < slen && s.charCodeAt(q + 1) === delim) {
      q = s.indexOf(quote, q + 2);
    } else {
      assign(st, TYPE_STRING, start, q - start);
      t.strClose = delim;
      return q + 1;
    }
  }
}

function parseString(st: SqliState): number {
  return parseStringCore(st, st.pos, st.s.charCodeAt(st.pos), 1);
}

function parseOperator1(st: SqliState): number {
  assignChar(st, TYPE_OPERATOR, st.pos);
  return st.pos + 1;
}

function parseEolComment(st: SqliState): number {
  const pos = st.pos;
  const nl = st.s.indexOf('\n', pos);
  if (nl < 0) {
    assign(st, TYPE_COMMENT, pos, st.slen - pos);
    return st.slen;
  }
  assign(st, TYPE_COMMENT, pos, nl - pos);
  return nl + 1;
}

/** '#': an operator in ANSI SQL, an end-of-line comment in MySQL. */
function parseHash(st: SqliState): number {
  st.statsCommentHash += 1;
  if (st.flags & FLAG_SQL_MYSQL) {
    st.statsCommentHash += 1;
    return parseEolComment(st);
  }
  assignChar(st, TYPE_OPERATOR, st.pos);
  return st.pos + 1;
}

/** '-': a '--' comment (always before white space or the end; in ANSI mode always), else minus. */
function parseDash(st: SqliState): number {
  const s = st.s;
  const slen = st.slen;
  const pos = st.pos;
  const nextIsDash = pos + 1 < slen && s.charCodeAt(pos + 1) === DASH;
  if (nextIsDash && pos + 2 < slen && isSqlWhite(s.charCodeAt(pos + 2))) return parseEolComment(st);
  if (nextIsDash && pos + 2 === slen) return parseEolComment(st);
  if (nextIsDash && st.flags & FLAG_SQL_ANSI) {
    st.statsCommentDdx += 1;
    return parseEolComment(st);
  }
  assignChar(st, TYPE_OPERATOR, pos);
  return pos + 1;
}

/** Index of the first "c0 c1" pair at or after `from` (both chars before `end`), or -1. */
function findPair(s: string, from: number, end: number, c0: number, c1: number): number {
  for (let i = from; i + 1 < end; i++) if (s.charCodeAt(i) === c0 && s.charCodeAt(i + 1) === c1) return i;
  return -1;
}

/**
 * '/': division, or a C comment. A comment holding another '/*' (nested comments parse
 * differently across databases) or a MySQL '/*!' comment is evil: it cannot be parsed reliably.
 */
function parseSlash(st: SqliState): number {
  const s = st.s;
  const slen = st.slen;
  const pos = st.pos;
  if (pos + 1 === slen || s.charCodeAt(pos + 1) !== STAR) return parseOperator1(st);
  const close = findPair(s, pos + 2, slen, STAR, SLASH);
  const clen = close < 0 ? slen - pos : close + 2 - pos;
  let type: number = TYPE_COMMENT;
  // The nested search covers up to and including the '*' of the closing '*/'.
  if (close >= 0 && findPair(s, pos + 2, close + 1, SLASH, STAR) >= 0) type = TYPE_EVIL;
  else if (pos + 2 < slen && s.charCodeAt(pos + 2) === 0x21 /* ! */) type = TYPE_EVIL;
  assign(st, type, pos, clen);
  return pos + clen;
}

/** '\': MySQL's \N is NULL (a number here); otherwise a backslash token. */
function parseBackslash(st: SqliState): number {
  const pos = st.pos;
  if (pos + 1 < st.slen && st.s.charCodeAt(pos + 1) === 0x4e /* N */) {
    assign(st, TYPE_NUMBER, pos, 2);
    return pos + 2;
  }
  assignChar(st, TYPE_BACKSLASH, pos);
  return pos + 1;
}

/** Operators that may be two chars (or '<=>'), else one; a lone ':' is a colon. */
function parseOperator2(st: SqliState): number {
  const s = st.s;
  const slen = st.slen;
  const pos = st.pos;
  if (pos + 1 >= slen) return parseOperator1(st);
  if (pos + 2 < slen && s.charCodeAt(pos) === 0x3c && s.charCodeAt(pos + 1) === 0x3d && s.charCodeAt(pos + 2) === 0x3e) {
    assign(st, TYPE_OPERATOR, pos, 3);
    return pos + 3;
  }
  const type = pairType(s, pos);
  if (type !== TYPE_NONE) {
    assign(st, type, pos, 2);
    return pos + 2;
  }
  if (s.charCodeAt(pos) === 0x3a /* : */) {
    assign(st, TYPE_COLON, pos, 1);
    return pos + 1;
  }
  return parseOperator1(st);
}

/**
 * A bare word: up to a stop byte. If a '.' or '`' inside follows a keyword ("SELECT.1",
 * "UNION`x`"), the token is only that keyword. Words longer than the token text are not looked up.
 */
function parseWord(st: SqliState): number {
  const s = st.s;
  const pos = st.pos;
  const wlen = spanOut(s, pos, st.slen, WORD_STOP);
  assign(st, TYPE_BAREWORD, pos, wlen);
  const t = st.current;
  for (let i = 0; i < t.len; i++) {
    const c = s.charCodeAt(pos + i);
    if (c === DOT || c === TICK) {
      const type = wordType(t.val.substring(0, i));
      if (type !== TYPE_NONE && type !== TYPE_BAREWORD) {
        t.clear();
        assign(st, type, pos, i);
        return pos + i;
      }
    }
  }
  if (wlen <= TOKEN_TEXT_MAX) {
    t.entry = wordEntry(t.val);
    t.type = entryType(t.entry) || TYPE_BAREWORD;
  }
  return pos + wlen;
}

/** MySQL `quoted names`: a bare word, or a function when the name is one. */
function parseTick(st: SqliState): number {
  const end = parseStringCore(st, st.pos, TICK, 1);
  const t = st.current;
  t.entry = wordEntry(t.val);
  t.type = entryType(t.entry) === TYPE_FUNCTION ? TYPE_FUNCTION : TYPE_BAREWORD;
  return end;
}

/** '@name', '@@name', and MySQL's @@`name` / @'name' / @"name". */
function parseVar(st: SqliState): number {
  const s = st.s;
  const slen = st.slen;
  const t = st.current;
  let pos = st.pos + 1;
  if (pos < slen && s.charCodeAt(pos) === 0x40 /* @ */) {
    pos += 1;
    t.count = 2;
  } else {
    t.count = 1;
  }
  if (pos < slen) {
    const c = s.charCodeAt(pos);
    if (c === TICK) {
      st.pos = pos;
      const end = parseTick(st);
      t.type = TYPE_VARIABLE;
      return end;
    }
    if (c === SINGLE || c === DOUBLE) {
      st.pos = pos;
      const end = parseString(st);
      t.type = TYPE_VARIABLE;
      return end;
    }
  }
  const xlen = spanOut(s, pos, slen, VAR_STOP);
  assign(st, TYPE_VARIABLE, pos, xlen);
  return pos + xlen;
}

/** '$': money ($1,000.00), PostgreSQL $$strings$$ and $tag$strings$tag$, else a '$' word. */
function parseMoney(st: SqliState): number {
  const s = st.s;
  const slen = st.slen;
  const pos = st.pos;
  if (pos + 1 === slen) {
    assignChar(st, TYPE_BAREWORD, pos);
    return slen;
  }
  let xlen = spanIn(s, pos + 1, slen, MONEY_CHAR);
  if (xlen === 0) {
    const t = st.current;
    if (s.charCodeAt(pos + 1) === DOLLAR) {
      const close = s.indexOf('$$', pos + 2);
      t.strOpen = DOLLAR;
      if (close < 0) {
        assign(st, TYPE_STRING, pos + 2, slen - (pos + 2));
        t.strClose = 0;
        return slen;
      }
      assign(st, TYPE_STRING, pos + 2, close - (pos + 2));
      t.strClose = DOLLAR;
      return close + 2;
    }
    xlen = spanIn(s, pos + 1, slen, LETTER);
    if (xlen === 0 || pos + xlen + 1 === slen || s.charCodeAt(pos + xlen + 1) !== DOLLAR) {
      assignChar(st, TYPE_BAREWORD, pos);
      return pos + 1;
    }
    // $tag$ ... $tag$
    const bodyStart = pos + xlen + 2;
    const close = s.indexOf(s.substring(pos, bodyStart), bodyStart);
    t.strOpen = DOLLAR;
    if (close < 0) {
      assign(st, TYPE_STRING, bodyStart, slen - bodyStart);
      t.strClose = 0;
      return slen;
    }
    assign(st, TYPE_STRING, bodyStart, close - bodyStart);
    t.strClose = DOLLAR;
    return close + xlen + 2;
  }
  if (xlen === 1 && s.charCodeAt(pos + 1) === DOT) return parseWord(st);
  assign(st, TYPE_NUMBER, pos, 1 + xlen);
  return pos + 1 + xlen;
}

/** Numbers: 0x.., 0b.., decimals, exponents, Oracle's d/f suffixes; "1e" alone is a word. */
function parseNumber(st: SqliState): number {
  const s = st.s;
  const slen = st.slen;
  const start = st.pos;
  let pos = start;
  if (s.charCodeAt(pos) === 0x30 && pos + 1 < slen) {
    const c = s.charCodeAt(pos + 1);
    const digits = c === 0x58 || c === 0x78 ? HEX_DIGIT : c === 0x42 || c === 0x62 ? BIN_DIGIT : 0;
    if (digits !== 0) {
      const xlen = spanIn(s, pos + 2, slen, digits);
      if (xlen === 0) {
        assign(st, TYPE_BAREWORD, pos, 2);
        return pos + 2;
      }
      assign(st, TYPE_NUMBER, pos, 2 + xlen);
      return pos + 2 + xlen;
    }
  }
  while (pos < slen && isDigit(s.charCodeAt(pos))) pos++;
  if (pos < slen && s.charCodeAt(pos) === DOT) {
    pos++;
    while (pos < slen && isDigit(s.charCodeAt(pos))) pos++;
    if (pos - start === 1) {
      // Just "."
      assignChar(st, TYPE_DOT, start);
      return pos;
    }
  }
  let haveE = false;
  let haveExp = false;
  if (pos < slen) {
    const c = s.charCodeAt(pos);
    if (c === 0x45 || c === 0x65) {
      haveE = true;
      pos++;
      if (pos < slen && (s.charCodeAt(pos) === 0x2b || s.charCodeAt(pos) === DASH)) pos++;
      while (pos < slen && isDigit(s.charCodeAt(pos))) {
        haveExp = true;
        pos++;
      }
    }
  }
  if (pos < slen) {
    const c = s.charCodeAt(pos);
    if (c === 0x64 || c === 0x44 || c === 0x66 || c === 0x46) {
      if (pos + 1 === slen) {
        pos++;
      } else {
        const n = s.charCodeAt(pos + 1);
        // "1.2f ", "1.2f;", and "1fUNION" read as "1f UNION"; "123FROM" stays "123".
        if (isSqlWhite(n) || n === 0x3b || n === 0x75 || n === 0x55) pos++;
      }
    }
  }
  assign(st, haveE && !haveExp ? TYPE_BAREWORD : TYPE_NUMBER, start, pos - start);
  return pos;
}

/** E'...' (PostgreSQL) and N'...' (national) strings; else a word. */
function parseEstring(st: SqliState): number {
  const pos = st.pos;
  if (pos + 2 >= st.slen || st.s.charCodeAt(pos + 1) !== SINGLE) return parseWord(st);
  return parseStringCore(st, pos, SINGLE, 2);
}

/** U&'...' (unicode escape strings); else a word. */
function parseUstring(st: SqliState): number {
  const s = st.s;
  const pos = st.pos;
  if (pos + 2 < st.slen && s.charCodeAt(pos + 1) === 0x26 && s.charCodeAt(pos + 2) === SINGLE) {
    st.pos += 2;
    const end = parseString(st);
    const t = st.current;
    t.strOpen = 0x75; // u
    if (t.strClose === SINGLE) t.strClose = 0x75;
    return end;
  }
  return parseWord(st);
}

/** Oracle q'<delim>...<delim>' strings (after `offset` chars: 0 for q'', 1 for nq''); else a word. */
function parseQstringCore(st: SqliState, offset: number): number {
  const s = st.s;
  const slen = st.slen;
  const pos = st.pos + offset;
  if (pos >= slen) return parseWord(st);
  const q = s.charCodeAt(pos);
  if ((q !== 0x71 && q !== 0x51) || pos + 2 >= slen || s.charCodeAt(pos + 1) !== SINGLE) return parseWord(st);
  let close = s.charCodeAt(pos + 2);
  // Control chars, space, and (signed char in C) bytes above 0x7f cannot open one.
  if (close < 33 || close > 0x7f) return parseWord(st);
  if (close === 0x28) close = 0x29;
  else if (close === 0x5b) close = 0x5d;
  else if (close === 0x7b) close = 0x7d;
  else if (close === 0x3c) close = 0x3e;
  const end = findPair(s, pos + 3, slen, close, SINGLE);
  const t = st.current;
  t.strOpen = 0x71; // q
  if (end < 0) {
    assign(st, TYPE_STRING, pos + 3, slen - pos - 3);
    t.strClose = 0;
    return slen;
  }
  assign(st, TYPE_STRING, pos + 3, end - pos - 3);
  t.strClose = 0x71;
  return end + 2;
}

/** N: N'...' strings, Oracle nq'...' strings, or a word. */
function parseNqstring(st: SqliState): number {
  const pos = st.pos;
  if (pos + 2 < st.slen && st.s.charCodeAt(pos + 1) === SINGLE) return parseEstring(st);
  return parseQstringCore(st, 1);
}

/** b'0101' and x'1f' literals, as numbers; else a word. */
function parseDigitString(st: SqliState, digits: number): number {
  const s = st.s;
  const slen = st.slen;
  const pos = st.pos;
  if (pos + 2 >= slen || s.charCodeAt(pos + 1) !== SINGLE) return parseWord(st);
  const wlen = spanIn(s, pos + 2, slen, digits);
  if (pos + 2 + wlen >= slen || s.charCodeAt(pos + 2 + wlen) !== SINGLE) return parseWord(st);
  assign(st, TYPE_NUMBER, pos, wlen + 3);
  return pos + wlen + 3;
}

/** SQL Server [bracketed names], as bare words. */
function parseBword(st: SqliState): number {
  const pos = st.pos;
  const end = st.s.indexOf(']', pos);
  if (end < 0) {
    assign(st, TYPE_BAREWORD, pos, st.slen - pos);
    return st.slen;
  }
  assign(st, TYPE_BAREWORD, pos, end - pos + 1);
  return end + 1;
}

/**
 * Reads the next token into `st.current`. Returns false at the end of the input (the current
 * token is then cleared).
 */
export function nextToken(st: SqliState): boolean {
  const slen = st.slen;
  if (slen === 0) return false;
  const t = st.current;
  t.clear();
  // In a quote context the input is read as if it started with that quote.
  if (st.pos === 0 && st.flags & (FLAG_QUOTE_SINGLE | FLAG_QUOTE_DOUBLE)) {
    st.pos = parseStringCore(st, 0, st.flags & FLAG_QUOTE_SINGLE ? SINGLE : DOUBLE, 0);
    st.statsTokens += 1;
    return true;
  }
  const s = st.s;
  while (st.pos < slen) {
    const c = s.charCodeAt(st.pos);
    const pos = st.pos;
    switch (c < 256 ? PARSER_OF_BYTE[c] : P_WORD) {
      case P_WHITE:
        st.pos = pos + 1;
        continue;
      case P_OPERATOR1:
        st.pos = parseOperator1(st);
        break;
      case P_OPERATOR2:
        st.pos = parseOperator2(st);
        break;
      case P_STRING:
        st.pos = parseString(st);
        break;
      case P_HASH:
        st.pos = parseHash(st);
        break;
      case P_MONEY:
        st.pos = parseMoney(st);
        break;
      case P_CHAR:
        // ( ) , ; { } are their own type
        assignChar(st, c, pos);
        st.pos = pos + 1;
        break;
      case P_DASH:
        st.pos = parseDash(st);
        break;
      case P_NUMBER:
        st.pos = parseNumber(st);
        break;
      case P_SLASH:
        st.pos = parseSlash(st);
        break;
      case P_BACKSLASH:
        st.pos = parseBackslash(st);
        break;
      case P_OTHER:
        assignChar(st, TYPE_UNKNOWN, pos);
        st.pos = pos + 1;
        break;
      case P_VAR:
        st.pos = parseVar(st);
        break;
      case P_BSTRING:
        st.pos = parseDigitString(st, BIN_DIGIT);
        break;
      case P_XSTRING:
        st.pos = parseDigitString(st, HEX_DIGIT);
        break;
      case P_ESTRING:
        st.pos = parseEstring(st);
        break;
      case P_NQSTRING:
        st.pos = parseNqstring(st);
        break;
      case P_QSTRING:
        st.pos = parseQstringCore(st, 0);
        break;
      case P_USTRING:
        st.pos = parseUstring(st);
        break;
      case P_BWORD:
        st.pos = parseBword(st);
        break;
      case P_TICK:
        st.pos = parseTick(st);
        break;
      default:
        st.pos = parseWord(st);
        break;
    }
    if (t.type !== TYPE_NONE) {
      st.statsTokens += 1;
      return true;
    }
  }
  return false;
}
