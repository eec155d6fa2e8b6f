/**
 * The SQLi decision: fingerprint the input in up to five parsing contexts (as is, and as if it
 * followed a ' or a " in a query; ANSI or MySQL comments), and call it SQLi when a fingerprint is
 * on the list and the whitelist rules for short fingerprints do not clear it.
 */
import { fold } from './sqli-fold.js';
import { isListedFingerprint } from './sqli-lookup.js';
import { SqliState } from './sqli-tokenizer.js';
import { FLAG_QUOTE_DOUBLE, FLAG_QUOTE_NONE, FLAG_QUOTE_SINGLE, FLAG_SQL_ANSI, FLAG_SQL_MYSQL, type Token, TYPES, upperCode } from './sqli-token.js';

// Module-local copies (see TYPES).
const { TYPE_BAREWORD, TYPE_COMMENT, TYPE_EVIL, TYPE_KEYWORD, TYPE_NONE, TYPE_NUMBER, TYPE_UNION } = TYPES;

const TICK = 0x60;

/**
 * Folds `st`'s input in the context `flags` and sets `st.fingerprint` (token type letters, or
 * "X" when a token could not be parsed reliably). Returns the fingerprint.
 */
export function fingerprintPass(st: SqliState, s: string, flags: number): string {
  st.reset(s, flags);
  const v = st.tokens;
  const count = fold(st);

  // An unclosed, empty `...` at the end (PHP's backquote) acts as a comment.
  const last = v[count - 1];
  if (count > 2 && last && last.type === TYPE_BAREWORD && last.strOpen === TICK && last.len === 0 && last.strClose === 0) {
    last.type = TYPE_COMMENT;
  }

  let fingerprint = '';
  let evil = false;
  for (let i = 0; i < count; i++) {
    const type = (v[i] as Token).type;
    if (type === TYPE_NONE) break; // the C fingerprint is a C string
    if (type === TYPE_EVIL) evil = true;
    fingerprint += String.fromCharCode(type);
  }
  if (evil) {
    fingerprint = 'X';
    const first = v[0] as Token;
    first.type = TYPE_EVIL;
    first.val = 'X';
    first.entry = -1;
    (v[1] as Token).type = TYPE_NONE;
  }
  st.fingerprint = fingerprint;
  return fingerprint;
}

/** Whether the fingerprint of the last pass is on the SQLi list. */
export function isBlacklisted(st: SqliState): boolean {
  return st.fingerprint.length > 0 && isListedFingerprint(st.fingerprint);
}

/**
 * Clears listed fingerprints that are too common in ordinary input: two- and three-token shapes
 * such as "1 union", "word --", "text' and 'text". Returns true when the input stays SQLi.
 */
export function isNotWhitelisted(st: SqliState): boolean {
  const fp = st.fingerprint;
  const tlen = fp.length;
  const v = st.tokens;
  const t0 = v[0] as Token;
  const t1 = v[1] as Token;

  // A trailing comment and 'sp_password' anywhere: SQL Server keeps statements naming
  // sp_password out of its logs, a known way to hide an injection.
  if (tlen > 1 && fp.charCodeAt(tlen - 1) === TYPE_COMMENT && st.s.includes('sp_password')) return true;

  if (tlen === 2) {
    if (fp.charCodeAt(1) === TYPE_UNION) {
      // "1 union" alone is ordinary text; with anything folded away it is not
      return st.statsTokens !== 2;
    }
    // '#' comments: too many false positives
    if (t1.val.charCodeAt(0) === 0x23) return false;
    // "word --" and "word #" are text; "word /*" is not
    if (t0.type === TYPE_BAREWORD && t1.type === TYPE_COMMENT && t1.val.charCodeAt(0) !== 0x2f) return false;
    if (t0.type === TYPE_NUMBER && t1.type === TYPE_COMMENT && t1.val.charCodeAt(0) === 0x2f) return true;
    if (t0.type === TYPE_NUMBER && t1.type === TYPE_COMMENT) {
      if (st.statsTokens > 2) return true;
      // "1234 --" or "1234--" is SQLi, base64-looking "1234-ABC--" is not. The byte read is at
      // the number's length from the start of the input (not from the number), as in the C code;
      // past the end it reads the NUL that ends a C string.
      const s = st.s;
      const at = t0.len;
      const ch = at < s.length ? s.charCodeAt(at) : 0;
      // C compares a signed char: bytes above 0x7f count as <= 32
      if (ch <= 32 || ch > 0x7f) return true;
      const next = at + 1 < s.length ? s.charCodeAt(at + 1) : 0;
      if (ch === 0x2f && next === 0x2a) return true;
      if (ch === 0x2d && next === 0x2d) return true;
      return false;
    }
    // A "--" comment with text in it reads as prose; a bare "--" (as in admin'--) is a probe
    if (t1.len > 2 && t1.val.charCodeAt(0) === 0x2d) return false;
    return true;
  }

  if (tlen === 3) {
    if (fp === 'sos' || fp === 's&s') {
      // ...foo' + 'bar...: unquoted at both ends, same quote between
      const t2 = v[2] as Token;
      return t0.strOpen === 0 && t2.strClose === 0 && t0.strClose === t2.strOpen;
    }
    if (fp === 's&n' || fp === 'n&1' || fp === '1&1' || fp === '1&v' || fp === '1&s') {
      // Three bare tokens ("blue and 17") read as text; with more folded in ("and 17<18") not
      return st.statsTokens !== 3;
    }
    if (t1.type === TYPE_KEYWORD) {
      // Only INTO OUTFILE / INTO DUMPFILE stays SQLi
      return t1.len >= 5 && startsWithInto(t1.val);
    }
  }
  return true;
}

function startsWithInto(text: string): boolean {
  return (
    upperCode(text.charCodeAt(0)) === 0x49 &&
    upperCode(text.charCodeAt(1)) === 0x4e &&
    upperCode(text.charCodeAt(2)) === 0x54 &&
    upperCode(text.charCodeAt(3)) === 0x4f
  );
}

function isSqliFingerprint(st: SqliState): boolean {
  return isBlacklisted(st) && isNotWhitelisted(st);
}

/** Whether a pass saw '--x' or '#', which MySQL reads differently. */
function worthMysqlPass(st: SqliState): boolean {
  return st.statsCommentDdx !== 0 || st.statsCommentHash !== 0;
}

/**
 * Runs the detection on `s` with the reusable state `st`; true when SQLi, with the matching
 * fingerprint left in `st.fingerprint`.
 */
export function isSqli(st: SqliState, s: string): boolean {
  if (s.length === 0) return false;

  fingerprintPass(st, s, FLAG_QUOTE_NONE | FLAG_SQL_ANSI);
  if (isSqliFingerprint(st)) return true;
  if (worthMysqlPass(st)) {
    fingerprintPass(st, s, FLAG_QUOTE_NONE | FLAG_SQL_MYSQL);
    if (isSqliFingerprint(st)) return true;
  }

  // Input such as 1' or '1'='1 is the inside of a quoted string: parse it as such.
  if (s.includes("'")) {
    fingerprintPass(st, s, FLAG_QUOTE_SINGLE | FLAG_SQL_ANSI);
    if (isSqliFingerprint(st)) return true;
    if (worthMysqlPass(st)) {
      fingerprintPass(st, s, FLAG_QUOTE_SINGLE | FLAG_SQL_MYSQL);
      if (isSqliFingerprint(st)) return true;
    }
  }

  if (s.includes('"')) {
    fingerprintPass(st, s, FLAG_QUOTE_DOUBLE | FLAG_SQL_MYSQL);
    if (isSqliFingerprint(st)) return true;
  }
  return false;
}
