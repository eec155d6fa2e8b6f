/**
 * Folding: turns the token stream into at most 5 tokens, the fingerprint's letters, by merging
 * multi-word keywords ("UNION ALL"), dropping what does not change the shape of the statement
 * (repeated strings, unary operators, "1+1" → "1", "{x ...}") and fixing the type of words whose
 * meaning depends on their neighbour ("IN (" is an operator, "USER(" a function).
 *
 * The rules, their order and their index arithmetic follow libinjection 3.9.2 exactly, quirks
 * included (several rules shorten the list by its last token, which is not always the token
 * they matched): fingerprints must come out the same.
 */
import { entryType, startsPhrase, wordEntry } from './sqli-lookup.js';
import { nextToken, type SqliState } from './sqli-tokenizer.js';
import { equalsUpper, isArithmeticOp, isUnaryOp, MAX_TOKENS, type Token, TOKEN_TEXT_MAX, TYPES } from './sqli-token.js';

// Module-local copies (see TYPES).
const {
  TYPE_BACKSLASH,
  TYPE_BAREWORD,
  TYPE_COLLATE,
  TYPE_COMMA,
  TYPE_COMMENT,
  TYPE_DOT,
  TYPE_EVIL,
  TYPE_EXPRESSION,
  TYPE_FUNCTION,
  TYPE_GROUP,
  TYPE_KEYWORD,
  TYPE_LEFTBRACE,
  TYPE_LEFTPARENS,
  TYPE_LOGIC_OPERATOR,
  TYPE_NONE,
  TYPE_NUMBER,
  TYPE_OPERATOR,
  TYPE_RIGHTBRACE,
  TYPE_RIGHTPARENS,
  TYPE_SEMICOLON,
  TYPE_SQLTYPE,
  TYPE_STRING,
  TYPE_TSQL,
  TYPE_UNION,
  TYPE_VARIABLE,
} = TYPES;

/** Words that are functions when a '(' follows, though common as column names. */
const FUNCTION_IF_CALLED = [
  'USER_ID',
  'USER_NAME',
  'DATABASE',
  'PASSWORD',
  'USER',
  'CURRENT_USER',
  'CURRENT_DATE',
  'CURRENT_TIME',
  'CURRENT_TIMESTAMP',
  'LOCALTIME',
  'LOCALTIMESTAMP',
];

function isOneOf(text: string, uppers: readonly string[]): boolean {
  for (const u of uppers) if (equalsUpper(text, u)) return true;
  return false;
}

function canStartMerge(type: number): boolean {
  return (
    type === TYPE_KEYWORD ||
    type === TYPE_BAREWORD ||
    type === TYPE_OPERATOR ||
    type === TYPE_UNION ||
    type === TYPE_FUNCTION ||
    type === TYPE_EXPRESSION ||
    type === TYPE_TSQL ||
    type === TYPE_SQLTYPE
  );
}

/** Merges `b` into `a` when "a b" is a listed phrase ("UNION" "ALL", "NOT" "IN"). */
function mergeWords(a: Token, b: Token): boolean {
  if (!canStartMerge(a.type)) return false;
  if (!canStartMerge(b.type) && b.type !== TYPE_LOGIC_OPERATOR) return false;
  const len = a.len + b.len + 1;
  if (len > TOKEN_TEXT_MAX) return false;
  // Build "a b" only when a phrase starts with a (most words start none).
  if (a.entry < 0) a.entry = wordEntry(a.val);
  if (!startsPhrase(a.entry)) return false;
  const phrase = `${a.val} ${b.val}`;
  const entry = wordEntry(phrase);
  const type = entryType(entry);
  if (type === TYPE_NONE) return false;
  a.type = type;
  a.len = len;
  a.val = phrase;
  a.entry = entry;
  return true;
}

/** Whether the token can be skipped at the start of the input: comments, '(', types, unary ops. */
function skippedAtStart(t: Token): boolean {
  return t.type === TYPE_COMMENT || t.type === TYPE_LEFTPARENS || t.type === TYPE_SQLTYPE || isUnaryOp(t);
}

/**
 * Tokenizes and folds `st`'s input (already reset for the pass) into `st.tokens`; returns how
 * many tokens make the fingerprint (0-5).
 */
export function fold(st: SqliState): number {
  const v = st.tokens as readonly [Token, Token, Token, Token, Token, Token, Token, Token];
  const lastComment = st.lastComment;
  lastComment.clear();

  // Skip leading comments, '(', SQL types and unary operators.
  st.current = v[0];
  st.more = true;
  while (st.more) {
    st.more = nextToken(st);
    if (!skippedAtStart(st.current)) break;
  }
  if (!st.more) return 0;

  // pos: where the next token goes; left: how many tokens are settled.
  let pos = 1;
  let left = 0;

  for (;;) {
    if (pos >= MAX_TOKENS && fiveTokenShortcut(v)) {
      // These shapes fold to their first token (keeping a sixth, if read, as the second), so
      // that long value lists and arithmetic do not fill the fingerprint.
      if (pos > MAX_TOKENS) {
        v[1].copyFrom(v[MAX_TOKENS]);
        pos = 2;
      } else {
        pos = 1;
      }
      left = 0;
    }

    if (!st.more || left >= MAX_TOKENS) {
      left = pos;
      break;
    }

    pos = fill(st, pos, left, 2);
    if (pos - left < 2) {
      left = pos;
      continue;
    }

    const a = v[left] as Token;
    const b = v[left + 1] as Token;
    if (a.type === TYPE_STRING && b.type === TYPE_STRING) {
      // 'foo' 'bar' is one string to SQL
      pos -= 1;
      continue;
    } else if (a.type === TYPE_SEMICOLON && b.type === TYPE_SEMICOLON) {
      pos -= 1;
      continue;
    } else if ((a.type === TYPE_OPERATOR || a.type === TYPE_LOGIC_OPERATOR) && (isUnaryOp(b) || b.type === TYPE_SQLTYPE)) {
      pos -= 1;
      left = 0;
      continue;
    } else if (a.type === TYPE_LEFTPARENS && isUnaryOp(b)) {
      pos -= 1;
      if (left > 0) left -= 1;
      continue;
    } else if (mergeWords(a, b)) {
      pos -= 1;
      if (left > 0) left -= 1;
      continue;
    } else if (a.type === TYPE_SEMICOLON && b.type === TYPE_FUNCTION && startsWithIf(b.val)) {
      // IF after ';' is Transact-SQL control flow, not the function
      b.type = TYPE_TSQL;
      continue;
    } else if ((a.type === TYPE_BAREWORD || a.type === TYPE_VARIABLE) && b.type === TYPE_LEFTPARENS && isOneOf(a.val, FUNCTION_IF_CALLED)) {
      a.type = TYPE_FUNCTION;
      continue;
    } else if (a.type === TYPE_KEYWORD && (equalsUpper(a.val, 'IN') || equalsUpper(a.val, 'NOT IN'))) {
      // "IN (" compares; a lone IN (as in "IN BOOLEAN MODE") means nothing
      a.type = b.type === TYPE_LEFTPARENS ? TYPE_OPERATOR : TYPE_BAREWORD;
      continue;
    } else if (a.type === TYPE_OPERATOR && (equalsUpper(a.val, 'LIKE') || equalsUpper(a.val, 'NOT LIKE'))) {
      if (b.type === TYPE_LEFTPARENS) a.type = TYPE_FUNCTION;
    } else if (
      a.type === TYPE_SQLTYPE &&
      (b.type === TYPE_BAREWORD ||
        b.type === TYPE_NUMBER ||
        b.type === TYPE_SQLTYPE ||
        b.type === TYPE_LEFTPARENS ||
        b.type === TYPE_FUNCTION ||
        b.type === TYPE_VARIABLE ||
        b.type === TYPE_STRING)
    ) {
      // A type name before a value (a cast, "binary 'x'"): keep the value
      a.copyFrom(b);
      pos -= 1;
      left = 0;
      continue;
    } else if (a.type === TYPE_COLLATE && b.type === TYPE_BAREWORD) {
      // Too many collations to list: one with a '_' counts as a type
      if (hasUnderscore(b.val)) {
        b.type = TYPE_SQLTYPE;
        left = 0;
      }
    } else if (a.type === TYPE_BACKSLASH) {
      // T-SQL reads '\%1' as '0 % 1' and '\1' as '1'
      if (isArithmeticOp(b)) {
        a.type = TYPE_NUMBER;
      } else {
        a.copyFrom(b);
        pos -= 1;
      }
      left = 0;
      continue;
    } else if (a.type === TYPE_LEFTPARENS && b.type === TYPE_LEFTPARENS) {
      // "((" and "))" count once
      pos -= 1;
      left = 0;
      continue;
    } else if (a.type === TYPE_RIGHTPARENS && b.type === TYPE_RIGHTPARENS) {
      pos -= 1;
      left = 0;
      continue;
    } else if (a.type === TYPE_LEFTBRACE && b.type === TYPE_BAREWORD) {
      // MySQL's "{ ``.``.id }" cannot be followed here: an empty name after '{' is evil.
      if (b.len === 0) {
        b.type = TYPE_EVIL;
        return left + 2;
      }
      // ODBC "{foo expr}" is expr
      left = 0;
      pos -= 2;
      continue;
    } else if (b.type === TYPE_RIGHTBRACE) {
      pos -= 1;
      left = 0;
      continue;
    }

    // No two-token rule applied: look at three.
    pos = fill(st, pos, left, 3);
    if (pos - left < 3) {
      left = pos;
      continue;
    }

    // Re-read: the collation rule above may have reset `left`.
    const x = v[left] as Token;
    const y = v[left + 1] as Token;
    const z = v[left + 2] as Token;
    if (x.type === TYPE_NUMBER && y.type === TYPE_OPERATOR && z.type === TYPE_NUMBER) {
      // Arithmetic and comparisons of values fold to a value ("1+1", "a=b", "@x<1", "1,2")
      pos -= 2;
      left = 0;
      continue;
    } else if (x.type === TYPE_OPERATOR && y.type !== TYPE_LEFTPARENS && z.type === TYPE_OPERATOR) {
      left = 0;
      pos -= 2;
      continue;
    } else if (x.type === TYPE_LOGIC_OPERATOR && z.type === TYPE_LOGIC_OPERATOR) {
      pos -= 2;
      left = 0;
      continue;
    } else if (x.type === TYPE_VARIABLE && y.type === TYPE_OPERATOR && (z.type === TYPE_VARIABLE || z.type === TYPE_NUMBER || z.type === TYPE_BAREWORD)) {
      pos -= 2;
      left = 0;
      continue;
    } else if ((x.type === TYPE_BAREWORD || x.type === TYPE_NUMBER) && y.type === TYPE_OPERATOR && (z.type === TYPE_NUMBER || z.type === TYPE_BAREWORD)) {
      pos -= 2;
      left = 0;
      continue;
    } else if (
      (x.type === TYPE_BAREWORD || x.type === TYPE_NUMBER || x.type === TYPE_VARIABLE || x.type === TYPE_STRING) &&
      y.type === TYPE_OPERATOR &&
      cString(y.val) === '::' &&
      z.type === TYPE_SQLTYPE
    ) {
      // PostgreSQL cast: x::type
      pos -= 2;
      left = 0;
      continue;
    } else if (
      (x.type === TYPE_BAREWORD || x.type === TYPE_NUMBER || x.type === TYPE_STRING || x.type === TYPE_VARIABLE) &&
      y.type === TYPE_COMMA &&
      (z.type === TYPE_NUMBER || z.type === TYPE_BAREWORD || z.type === TYPE_STRING || z.type === TYPE_VARIABLE)
    ) {
      pos -= 2;
      left = 0;
      continue;
    } else if ((x.type === TYPE_EXPRESSION || x.type === TYPE_GROUP || x.type === TYPE_COMMA) && isUnaryOp(y) && z.type === TYPE_LEFTPARENS) {
      // "SELECT + (", "LIMIT - (": drop the unary operator
      y.copyFrom(z);
      pos -= 1;
      left = 0;
      continue;
    } else if (
      (x.type === TYPE_KEYWORD || x.type === TYPE_EXPRESSION || x.type === TYPE_GROUP) &&
      isUnaryOp(y) &&
      (z.type === TYPE_NUMBER || z.type === TYPE_BAREWORD || z.type === TYPE_VARIABLE || z.type === TYPE_STRING || z.type === TYPE_FUNCTION)
    ) {
      // "SELECT - 1"
      y.copyFrom(z);
      pos -= 1;
      left = 0;
      continue;
    } else if (
      x.type === TYPE_COMMA &&
      isUnaryOp(y) &&
      (z.type === TYPE_NUMBER || z.type === TYPE_BAREWORD || z.type === TYPE_VARIABLE || z.type === TYPE_STRING)
    ) {
      // ", -1" → ",1", then back up so that "1,-1" can fold to "1"
      y.copyFrom(z);
      left = 0;
      pos -= 3;
      continue;
    } else if (x.type === TYPE_COMMA && isUnaryOp(y) && z.type === TYPE_FUNCTION) {
      // "1,-sin(1)" → "1,sin(1)"
      y.copyFrom(z);
      pos -= 1;
      left = 0;
      continue;
    } else if (x.type === TYPE_BAREWORD && y.type === TYPE_DOT && z.type === TYPE_BAREWORD) {
      // database.table
      pos -= 2;
      left = 0;
      continue;
    } else if (x.type === TYPE_EXPRESSION && y.type === TYPE_DOT && z.type === TYPE_BAREWORD) {
      // "SELECT . `foo`" → "SELECT `foo`"
      y.copyFrom(z);
      pos -= 1;
      left = 0;
      continue;
    } else if (x.type === TYPE_FUNCTION && y.type === TYPE_LEFTPARENS && z.type !== TYPE_RIGHTPARENS) {
      // USER() takes no arguments: "user(foo)" is not that function
      if (equalsUpper(x.val, 'USER')) x.type = TYPE_BAREWORD;
    }

    // Nothing folded: the leftmost token is settled.
    left += 1;
  }

  // A trailing comment that was dropped comes back if there is room.
  if (left < MAX_TOKENS && lastComment.type === TYPE_COMMENT) {
    v[left]?.copyFrom(lastComment);
    left += 1;
  }
  // The sixth token only helped decide the fifth.
  return left > MAX_TOKENS ? MAX_TOKENS : left;
}

/**
 * Reads tokens into the list until `want` are unsettled, the list is full or the input ends;
 * returns the new count. Comments are not kept, but the last one is remembered.
 */
function fill(st: SqliState, start: number, left: number, want: number): number {
  let pos = start;
  while (st.more && pos <= MAX_TOKENS && pos - left < want) {
    const t = st.tokens[pos] as Token;
    st.current = t;
    st.more = nextToken(st);
    if (st.more) {
      if (t.type === TYPE_COMMENT) {
        st.lastComment.copyFrom(t);
      } else {
        st.lastComment.type = TYPE_NONE;
        pos += 1;
      }
    }
  }
  return pos;
}

/** The five-token shapes "1,(1)" (or "1+(1)"), "n+(n)", "1),(1" and "n)+(n". */
function fiveTokenShortcut(v: readonly [Token, Token, Token, Token, Token, ...Token[]]): boolean {
  const [t0, t1, t2, t3, t4] = [v[0].type, v[1].type, v[2].type, v[3].type, v[4].type];
  return (
    (t0 === TYPE_NUMBER && (t1 === TYPE_OPERATOR || t1 === TYPE_COMMA) && t2 === TYPE_LEFTPARENS && t3 === TYPE_NUMBER && t4 === TYPE_RIGHTPARENS) ||
    (t0 === TYPE_BAREWORD && t1 === TYPE_OPERATOR && t2 === TYPE_LEFTPARENS && (t3 === TYPE_BAREWORD || t3 === TYPE_NUMBER) && t4 === TYPE_RIGHTPARENS) ||
    (t0 === TYPE_NUMBER && t1 === TYPE_RIGHTPARENS && t2 === TYPE_COMMA && t3 === TYPE_LEFTPARENS && t4 === TYPE_NUMBER) ||
    (t0 === TYPE_BAREWORD && t1 === TYPE_RIGHTPARENS && t2 === TYPE_OPERATOR && t3 === TYPE_LEFTPARENS && t4 === TYPE_BAREWORD)
  );
}

/** The text up to its first NUL, as C string functions see a token's text. */
function cString(text: string): string {
  const nul = text.indexOf('\0');
  return nul < 0 ? text : text.slice(0, nul);
}

function hasUnderscore(text: string): boolean {
  return cString(text).includes('_');
}

/** Whether a function name starts with IF (any case), as in T-SQL's "; IF 1=1". */
function startsWithIf(text: string): boolean {
  const c0 = text.charCodeAt(0);
  const c1 = text.charCodeAt(1);
  return (c0 === 0x49 || c0 === 0x69) && (c1 === 0x46 || c1 === 0x66);
}
