/** `application/x-www-form-urlencoded` parsing, also used for the query string. */
import { urlDecode } from '../transformations/url.js';
import type { Pair } from './types.js';

/**
 * Splits `text` on `separator` into name/value pairs, URL-decoding both (non-strict:
 * a bad `%` escape stays as written). A part without `=` is a name with an empty value;
 * empty parts are skipped.
 */
export function parseUrlEncoded(text: string, separator = '&'): Pair[] {
  const pairs: Pair[] = [];
  if (text === '') return pairs;
  for (const part of text.split(separator)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) pairs.push({ key: urlDecode(part), value: '' });
    else pairs.push({ key: urlDecode(part.slice(0, eq)), value: urlDecode(part.slice(eq + 1)) });
  }
  return pairs;
}
