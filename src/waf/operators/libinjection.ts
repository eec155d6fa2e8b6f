/** `@detectSQLi` and `@detectXSS`, backed by the engine's libinjection port. */
import { detectSQLi as sqli, detectXSS as xss } from '../libinjection/index.js';
import type { OperatorFactory } from './types.js';

/** `@detectSQLi` — with `capture`, TX.0 receives the libinjection fingerprint. */
export const detectSQLi: OperatorFactory = () => (value, rt) => {
  const result = sqli(value);
  if (result.match && rt.captures) {
    rt.captures.length = 0;
    rt.captures.push(result.fingerprint);
  }
  return result.match;
};

/** `@detectXSS`. */
export const detectXSS: OperatorFactory = () => (value) => xss(value);
