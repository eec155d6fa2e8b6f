import type { Redis } from 'ioredis';

/** Every key shape Palisade writes (src/store/redis/keys.ts), with the TTL rule of each. */
const KEY_PATTERNS: Array<{ pattern: RegExp; ttl: 'required' | 'none' }> = [
  { pattern: /^palisade:node:[A-Za-z0-9._-]+$/, ttl: 'required' },
  // Ban state: `palisade:{bans}:…` in a Redis Cluster (one slot), untagged otherwise.
  { pattern: /^palisade:(?:\{bans\}:)?ban:[0-9a-f.:/]+$/, ttl: 'none' },
  { pattern: /^palisade:(?:\{bans\}:)?bans:index$/, ttl: 'none' },
  { pattern: /^palisade:(?:\{bans\}:)?unban:[0-9a-f.:/]+$/, ttl: 'required' },
  { pattern: /^palisade:(?:\{bans\}:)?unbans:index$/, ttl: 'none' },
  { pattern: /^palisade:(?:\{bans\}:)?bans:stream$/, ttl: 'none' },
  { pattern: /^palisade:(?:\{bans\}:)?bans:epoch$/, ttl: 'none' },
  { pattern: /^palisade:(?:\{bans\}:)?bans:digest$/, ttl: 'none' },
  { pattern: /^palisade:cluster:nodes$/, ttl: 'required' },
  { pattern: /^palisade:audit:trail$/, ttl: 'none' },
  { pattern: /^palisade:lock:[a-z0-9:._-]+$/, ttl: 'required' },
  { pattern: /^palisade:session:[A-Za-z0-9_-]{16,128}$/, ttl: 'required' },
  { pattern: /^palisade:nodes$/, ttl: 'required' },
  { pattern: /^palisade:metrics:[A-Za-z0-9._-]+$/, ttl: 'required' },
  // Counters: the client part tagged `{…}` in a cluster (a client's keys in one slot).
  {
    pattern: /^palisade:[a-z0-9_-]+:[a-z0-9_-]+:(?:[0-9.]+|[0-9a-f:]+\/64|h[0-9a-f]{32}|\{(?:[0-9.]+|[0-9a-f:]+\/64|h[0-9a-f]{32})\}):(?:gcra|w)$/,
    ttl: 'required',
  },
];

/**
 * Walks every key in the database (SCAN is fine in a test, never in Palisade) and returns the
 * ones that break the documented layout: unknown shape, over 256 bytes, or a TTL rule broken.
 */
export async function keyHygieneViolations(client: Redis): Promise<string[]> {
  const problems: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      if (Buffer.byteLength(key) > 256) problems.push(`${key}: longer than 256 bytes`);
      const rule = KEY_PATTERNS.find((p) => p.pattern.test(key));
      if (!rule) {
        problems.push(`${key}: matches no documented pattern`);
        continue;
      }
      const ttl = await client.pttl(key);
      if (rule.ttl === 'required' && ttl < 0) problems.push(`${key}: has no TTL`);
      if (rule.ttl === 'none' && ttl >= 0) problems.push(`${key}: must not expire`);
    }
  } while (cursor !== '0');
  return problems;
}
