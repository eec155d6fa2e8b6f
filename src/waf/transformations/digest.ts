/** `t:length`, `t:md5`, `t:sha1`: values computed from the bytes. */
import { createHash } from 'node:crypto';

/** `t:length` — the byte length as decimal text. */
export function length(input: string): string {
  return String(input.length);
}

/** `t:md5` — the raw 16-byte digest as a byte string. */
export function md5(input: string): string {
  return createHash('md5').update(input, 'latin1').digest().toString('latin1');
}

/** `t:sha1` — the raw 20-byte digest as a byte string. */
export function sha1(input: string): string {
  return createHash('sha1').update(input, 'latin1').digest().toString('latin1');
}
