import { canonicalTarget } from '../../src/plugin/index.js';

/** Largest list accepted, in bytes. */
export const MAX_LIST_BYTES = 10 * 1024 * 1024;

/** One entry of a list: its canonical target and the line it came from (1-based). */
export interface ListEntry {
  target: string;
  line: number;
}

/**
 * The entries of a downloaded list: the first token of each line, `#`/`;` comments skipped,
 * each target once. `invalid` holds the lines that are not an IP or CIDR; whether an entry
 * may be banned is the ban policy's to say, not the parser's.
 */
export function parseIpList(text: string): { entries: ListEntry[]; invalid: ListEntry[] } {
  const entries = new Map<string, ListEntry>();
  const invalid: ListEntry[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const token =
      line
        .replace(/[#;].*$/, '')
        .trim()
        .split(/\s+/)[0] ?? '';
    if (token === '') return;
    const target = canonicalTarget(token);
    if (target === undefined) invalid.push({ target: token.slice(0, 64), line: index + 1 });
    else if (!entries.has(target)) entries.set(target, { target, line: index + 1 });
  });
  return { entries: [...entries.values()], invalid };
}

/** A URL fit for logs: no credentials, no query string (lists often carry API keys there). */
export function displayUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}${parsed.search ? '?…' : ''}`;
}

/** Downloads `url` within `timeoutMs` and `MAX_LIST_BYTES`; throws with a reason otherwise. */
export async function downloadList(url: string, timeoutMs: number): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_LIST_BYTES) {
      await reader.cancel();
      throw new Error(`larger than ${MAX_LIST_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
