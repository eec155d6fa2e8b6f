import { isLoopback } from '../../src/net/ip.js';
import { canonicalTarget } from '../../src/store/ban-table.js';

/** Largest list accepted, in bytes. */
export const MAX_LIST_BYTES = 10 * 1024 * 1024;

/** The targets of a downloaded list: first token of each line, `#`/`;` comments skipped. */
export function parseIpList(text: string): { targets: string[]; invalid: number } {
  const targets = new Set<string>();
  let invalid = 0;
  for (const line of text.split(/\r?\n/)) {
    const token = line.replace(/[#;].*$/, '').trim().split(/\s+/)[0] ?? '';
    if (token === '') continue;
    const target = canonicalTarget(token);
    if (target === undefined || isLoopback(target)) invalid++;
    else targets.add(target);
  }
  return { targets: [...targets], invalid };
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
