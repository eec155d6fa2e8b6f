/** `@detectSQLi` and `@detectXSS`, backed by the engine's libinjection port. */
import { detectSQLi as sqli, detectXSS as xss } from '../libinjection/index.js';
import type { OperatorFactory } from './types.js';

/**
 * Both checks are pure functions of the bytes and cost microseconds, while header
 * values, cookies and many argument values repeat from request to request: verdicts of
 * values up to MEMO_VALUE_MAX bytes are remembered (bounded, cleared when full).
 */
const MEMO_VALUE_MAX = 256;
const MEMO_ENTRIES = 4096;

/** A bounded verdict memo. */
class Memo<T> {
  private readonly map = new Map<string, T>();
  get(value: string): T | undefined {
    return value.length <= MEMO_VALUE_MAX ? this.map.get(value) : undefined;
  }
  set(value: string, verdict: T): void {
    if (value.length > MEMO_VALUE_MAX) return;
    if (this.map.size >= MEMO_ENTRIES) this.map.clear();
    this.map.set(value, verdict);
  }
}

/** Fingerprints ("" when the value is not SQL injection; a match always has a fingerprint). */
const sqliMemo = new Memo<string>();
const xssMemo = new Memo<boolean>();

/** libinjection's SQLi fingerprint when `value` is SQL injection, else "". */
function sqliFingerprint(value: string): string {
  let known = sqliMemo.get(value);
  if (known === undefined) {
    const result = sqli(value);
    known = result.match ? result.fingerprint : '';
    sqliMemo.set(value, known);
  }
  return known;
}

/** `@detectSQLi` — with `capture`, TX.0 receives the libinjection fingerprint. */
export const detectSQLi: OperatorFactory = () => (value, rt) => {
  const fingerprint = sqliFingerprint(value);
  if (fingerprint === '') return false;
  if (rt.captures) {
    rt.captures.length = 0;
    rt.captures.push(fingerprint);
  }
  return true;
};

/** `@detectXSS`. */
export const detectXSS: OperatorFactory = () => (value) => {
  let known = xssMemo.get(value);
  if (known === undefined) {
    known = xss(value);
    xssMemo.set(value, known);
  }
  return known;
};
