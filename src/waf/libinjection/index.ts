/**
 * SQL injection and XSS detection as ModSecurity's @detectSQLi and @detectXSS operators do it.
 * The behaviour and the data tables follow libinjection 3.9.2 (the version ModSecurity 3.0.9
 * bundles), so that CRS rules 942100 and 941100 match exactly what they match there; the tables
 * are libinjection's (BSD-3-Clause), see test/unit/waf/libinjection-data/LICENSE.
 *
 * Inputs are byte strings: one char per byte (latin1), as values come out of transformations.
 */
import { isSqli } from './sqli-check.js';
import { SqliState } from './sqli-tokenizer.js';
import { isXss } from './xss.js';

/** One state for all calls: detection is synchronous, and reusing it saves allocations. */
const state = new SqliState();

/** libinjection's SQLi check: match, and the fingerprint (e.g. "s&1c") libinjection reports; "" when none. */
export function detectSQLi(input: string): { match: boolean; fingerprint: string } {
  const match = isSqli(state, input);
  return { match, fingerprint: match ? state.fingerprint : '' };
}

/** libinjection's XSS check. */
export function detectXSS(input: string): boolean {
  return isXss(input);
}
