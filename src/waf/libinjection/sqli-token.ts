/**
 * SQL tokens as the SQLi detector sees them: a one-letter type (the letters make up the
 * fingerprint), the place in the input, and the text, cut to 31 bytes as libinjection cuts it.
 */

// Token types, as the char codes of the fingerprint letters.
const TYPE_NONE = 0;
const TYPE_KEYWORD = 0x6b; // k
const TYPE_UNION = 0x55; // U
const TYPE_GROUP = 0x42; // B
const TYPE_EXPRESSION = 0x45; // E
const TYPE_SQLTYPE = 0x74; // t
const TYPE_FUNCTION = 0x66; // f
const TYPE_BAREWORD = 0x6e; // n
const TYPE_NUMBER = 0x31; // 1
const TYPE_VARIABLE = 0x76; // v
const TYPE_STRING = 0x73; // s
const TYPE_OPERATOR = 0x6f; // o
const TYPE_LOGIC_OPERATOR = 0x26; // &
const TYPE_COMMENT = 0x63; // c
const TYPE_COLLATE = 0x41; // A
const TYPE_LEFTPARENS = 0x28; // (
const TYPE_RIGHTPARENS = 0x29; // )
const TYPE_LEFTBRACE = 0x7b; // {
const TYPE_RIGHTBRACE = 0x7d; // }
const TYPE_DOT = 0x2e; // .
const TYPE_COMMA = 0x2c; // ,
const TYPE_COLON = 0x3a; // :
const TYPE_SEMICOLON = 0x3b; // ;
const TYPE_TSQL = 0x54; // T
const TYPE_UNKNOWN = 0x3f; // ?
const TYPE_EVIL = 0x58; // X: input that cannot be parsed consistently, always SQLi
const TYPE_BACKSLASH = 0x5c; // \

/**
 * The token types, by name. Modules that test types in their hot paths copy the ones they use
 * into module-local constants: under vitest's module loader every use of an imported binding
 * is a property read through a getter, which made the detector several times slower there.
 */
export const TYPES = {
  TYPE_NONE,
  TYPE_KEYWORD,
  TYPE_UNION,
  TYPE_GROUP,
  TYPE_EXPRESSION,
  TYPE_SQLTYPE,
  TYPE_FUNCTION,
  TYPE_BAREWORD,
  TYPE_NUMBER,
  TYPE_VARIABLE,
  TYPE_STRING,
  TYPE_OPERATOR,
  TYPE_LOGIC_OPERATOR,
  TYPE_COMMENT,
  TYPE_COLLATE,
  TYPE_LEFTPARENS,
  TYPE_RIGHTPARENS,
  TYPE_LEFTBRACE,
  TYPE_RIGHTBRACE,
  TYPE_DOT,
  TYPE_COMMA,
  TYPE_COLON,
  TYPE_SEMICOLON,
  TYPE_TSQL,
  TYPE_UNKNOWN,
  TYPE_EVIL,
  TYPE_BACKSLASH,
} as const;

// Parsing modes: each pass of the detector combines a quote context and a dialect.
/** Read the input as it is. */
export const FLAG_QUOTE_NONE = 1;
/** Read the input as the rest of a '...' string (as if a quote came before it). */
export const FLAG_QUOTE_SINGLE = 2;
/** Read the input as the rest of a "..." string. */
export const FLAG_QUOTE_DOUBLE = 4;
/** ANSI SQL: '--x' is a comment, '#' an operator. */
export const FLAG_SQL_ANSI = 8;
/** MySQL: '#' starts a comment ('--' does only before white space). */
export const FLAG_SQL_MYSQL = 16;

/** Longest token text kept (the C token holds 32 bytes with its terminating NUL). */
export const TOKEN_TEXT_MAX = 31;

/** Tokens kept for a fingerprint. */
export const MAX_TOKENS = 5;

/** One token; the detector reuses a fixed set of these, so all fields are plain and mutable. */
export class Token {
  /** Type code (see TYPE_*); 0 while unset. */
  type = TYPE_NONE;
  /** Offset in the input. */
  pos = 0;
  /** Length of `val` (the text is cut to TOKEN_TEXT_MAX). */
  len = 0;
  /** For variables: how many '@' opened it (1 or 2). */
  count = 0;
  /** Opening quote char code of a string (or 'q', 'u', '$' forms), 0 for none. */
  strOpen = 0;
  /** Closing quote char code, 0 when the string ran to the end of the input. */
  strClose = 0;
  /** The token's text (bytes as chars), at most TOKEN_TEXT_MAX long. */
  val = '';
  /**
   * The word list's entry for `val` (see wordEntry in sqli-lookup.ts), or -1 when not looked up
   * yet: folding asks about the same word several times.
   */
  entry = -1;

  /** Resets every field, as for a new token. */
  clear(): void {
    this.type = TYPE_NONE;
    this.pos = 0;
    this.len = 0;
    this.count = 0;
    this.strOpen = 0;
    this.strClose = 0;
    this.val = '';
    this.entry = -1;
  }

  /** Makes this token a copy of `other`. */
  copyFrom(other: Token): void {
    this.type = other.type;
    this.pos = other.pos;
    this.len = other.len;
    this.count = other.count;
    this.strOpen = other.strOpen;
    this.strClose = other.strClose;
    this.val = other.val;
    this.entry = other.entry;
  }
}

/** ASCII-only upper case of a code (the C code folds a-z and nothing else). */
export function upperCode(code: number): number {
  return code >= 0x61 && code <= 0x7a ? code - 0x20 : code;
}

/** Whether `text` equals `upper` (an upper-case ASCII word) when a-z of `text` are upper-cased. */
export function equalsUpper(text: string, upper: string): boolean {
  const n = text.length;
  if (n !== upper.length) return false;
  for (let i = 0; i < n; i++) if (upperCode(text.charCodeAt(i)) !== upper.charCodeAt(i)) return false;
  return true;
}

/** Whether the token is an operator that can be unary: + - ! ~ !! NOT. */
export function isUnaryOp(t: Token): boolean {
  if (t.type !== TYPE_OPERATOR) return false;
  const v = t.val;
  switch (t.len) {
    case 1: {
      const c = v.charCodeAt(0);
      return c === 0x2b || c === 0x2d || c === 0x21 || c === 0x7e;
    }
    case 2:
      return v === '!!';
    case 3:
      return equalsUpper(v, 'NOT');
    default:
      return false;
  }
}

/** Whether the token is a one-char arithmetic operator: * / - + %. */
export function isArithmeticOp(t: Token): boolean {
  if (t.type !== TYPE_OPERATOR || t.len !== 1) return false;
  const c = t.val.charCodeAt(0);
  return c === 0x2a || c === 0x2f || c === 0x2d || c === 0x2b || c === 0x25;
}
