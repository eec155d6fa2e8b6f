import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { settingsSpec } from '../../src/plugin/catalog.js';
import { loadSettings } from '../../src/settings/load.js';
import type { RedisSettings } from '../../src/settings/types.generated.js';
import { RedisConnections, RedisUnavailable } from '../../src/store/redis/connections.js';
import { RedisCounters } from '../../src/store/redis/counters.js';
import { RedisAudit } from '../../src/store/redis/audit.js';
import { RedisKeys } from '../../src/store/redis/keys.js';
import { BanTable } from '../../src/store/ban-table.js';
import { comparableFrom } from '../../src/store/ban-digest.js';
import { TEST_SESSIONS_SECRET } from '../helpers/palisade.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';
import type { LeaseGrant } from '../../src/store/shared-backend.js';

afterAll(stopAllRedis);

async function settingsFor(port: number): Promise<RedisSettings> {
  // The scripts' answers are under test here, not the request budget: a budget of 50 ms (the
  // default) would turn a batch a loaded machine answers late into a failure of the test.
  const loaded = await loadSettings(settingsSpec(builtinPlugins), {
    USE_REDIS: 'yes',
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(port),
    REDIS_KEEPALIVE_POOL: '2',
    REDIS_REQUEST_TIMEOUT: '5s',
    SESSIONS_SECRET: TEST_SESSIONS_SECRET,
    // The WAF's settings check compiles the CRS: not what this is about.
    USE_MODSECURITY: 'no',
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.settings as unknown as RedisSettings;
}

/** Runs `test` with ready request-path connections to a fresh redis-server; closes them after. */
async function withConnections(name: string, test: (connections: RedisConnections, redis: RedisServer) => Promise<void>): Promise<void> {
  const redis = await startRedis();
  const connections = new RedisConnections(await settingsFor(redis.port), name, pino({ level: 'silent' }));
  connections.connect();
  try {
    expect((await connections.firstConnect(5_000)).state).toBe('ready');
    await test(connections, redis);
  } finally {
    await connections.close();
  }
}

/** One change through `ban_apply.lua`, as node `n` makes it (stream trimmed at 100 entries). */
function banApply(
  connections: RedisConnections,
  keys: RedisKeys,
  change: { op: 'ban' | 'unban'; target: string; version: number; body: unknown; expiresAt: number | 'inf'; tombstoneMs: number },
): Promise<number> {
  const { op, target, version, body, expiresAt, tombstoneMs } = change;
  return connections.run((c) =>
    c.palisadeBanApply(
      keys.ban(target),
      keys.banIndex,
      keys.tombstone(target),
      keys.tombstoneIndex,
      keys.banStream,
      keys.banDigest,
      op,
      target,
      version,
      'n',
      JSON.stringify(body),
      expiresAt,
      tombstoneMs,
      100,
    ),
  );
}

describe('request-path connections', () => {
  it('reloads scripts after the script cache is emptied (failover, restart, SCRIPT FLUSH)', () =>
    withConnections('scripts', async (connections, redis) => {
      // One site, one kind of lease (60 s, 2 hits, none returned); the answer per key is the hits granted, or minus the wait.
      const lease = () => connections.run((c) => c.palisadeGcra(1, 'palisade:test:gcra:a', 1, 1, 60_000, 2, 0));
      expect(await lease()).toEqual([1]);
      await redis.client().script('FLUSH');
      expect(await lease()).toEqual([1]);
      expect((await lease())[0]).toBeLessThan(-25_000);
      expect(await redis.client().pttl('palisade:test:gcra:a')).toBeGreaterThan(0);
    }));

  it('sweeps expired bans out of Redis and names them for the audit trail', () =>
    withConnections('sweep', async (connections, redis) => {
      const keys = new RedisKeys('palisade');
      const apply = (target: string, expiresAt: number) => {
        const ban = { target, reason: 'r', origin: 'api', actor: 'a', node: 'n', createdAt: 1, expiresAt, evidence: '', version: 1 };
        return banApply(connections, keys, { op: 'ban', target, version: 1, body: { op: 'ban', ban }, expiresAt, tombstoneMs: 1000 });
      };
      await apply('192.0.2.1', Date.now() - 1_000);
      await apply('192.0.2.2', Date.now() + 3_600_000);
      const swept = await connections.run((c) => c.palisadeBanSweep(keys.banIndex, keys.tombstoneIndex, keys.banDigest, keys.banRecordPrefix, 100));
      expect(swept).toEqual(['192.0.2.1']);
      const check = redis.client();
      expect(await check.exists(keys.ban('192.0.2.1'), keys.ban('192.0.2.2'))).toBe(1);
      expect(await check.zrange(keys.banIndex, '0', '-1')).toEqual(['192.0.2.2']);
    }));

  it('keeps the same ban digest as a node, through bans, renewals, lifts and a rebuild from the index', () =>
    withConnections('digest', async (connections, redis) => {
      const keys = new RedisKeys('palisade');
      const table = new BanTable();
      const hour = Date.now() + 3_600_000;
      let version = 0;
      const change = (op: 'ban' | 'unban', target: string, expiresAt: number | null) => {
        version++;
        const ban = { target, reason: 'r', origin: 'api', actor: 'a', node: 'n', createdAt: 1, expiresAt, evidence: '', version };
        const body = op === 'ban' ? { op, ban } : { op, tombstone: { target, version, node: 'n', actor: 'a', at: Date.now() } };
        if (op === 'ban') table.set(ban);
        else table.delete(target);
        return banApply(connections, keys, { op, target, version, body, expiresAt: expiresAt ?? 'inf', tombstoneMs: 60_000 });
      };
      for (let i = 0; i < 50; i++) await change('ban', `198.51.100.${i}`, i % 5 === 0 ? null : hour + i * 90_000);
      await change('ban', '2001:db8::/48', hour);
      await change('ban', '198.51.100.3', hour + 7_200_000); // renewed to another minute
      await change('unban', '198.51.100.4', null);
      await change('ban', '198.51.100.5', hour); // a permanent ban made temporary
      const from = comparableFrom(Date.now());
      const read = () => connections.run((c) => c.palisadeBanDigestRead(keys.banDigest, keys.banStream, from));
      const tail = (await redis.client().xrevrange(keys.banStream, '+', '-', 'COUNT', 1))[0]![0];
      // Started on an empty index: complete from the first ban.
      const [complete, digest, stream] = await read();
      expect([complete, digest, stream]).toEqual([1, table.digest.from(from), tail]);
      expect(digest).not.toBe(0);
      // Lost, then rebuilt from the index: the same digest, complete again.
      await redis.client().del(keys.banDigest);
      expect((await read())[0]).toBe(0);
      expect(await connections.run((c) => c.palisadeBanDigestRebuild(keys.banIndex, keys.banDigest, 1_000, 0))).toBe(50);
      expect(await read()).toEqual([1, table.digest.from(from), tail]);
      // Over the limit, nothing is done.
      await redis.client().del(keys.banDigest);
      expect(await connections.run((c) => c.palisadeBanDigestRebuild(keys.banIndex, keys.banDigest, 10, 1))).toBe(-1);
      expect(await redis.client().exists(keys.banDigest)).toBe(0);
    }));

  it('fails fast with RedisUnavailable, opens the breaker, and closes it once Redis answers again', () =>
    withConnections('breaker', async (connections, redis) => {
      await redis.stop();
      await expect(connections.run((c) => c.ping())).rejects.toBeInstanceOf(Error);
      for (let i = 0; i < 10; i++) await connections.run((c) => c.ping()).catch(() => undefined);
      expect(connections.breaker.isOpen).toBe(true);
      // Refused by the open breaker itself, without a call.
      await expect(connections.run((c) => c.ping())).rejects.toBeInstanceOf(RedisUnavailable);
      await redis.restart();
      await expect.poll(() => connections.breaker.isOpen, { timeout: 10_000 }).toBe(false);
      expect(await connections.run((c) => c.ping())).toBe('PONG');
    }));

  it('grants and takes back leases sent together exactly as one by one, in one script call per turn', () =>
    withConnections('batch', async (connections, redis) => {
      const calls: string[] = [];
      const counters = new RedisCounters(connections, new RedisKeys('palisade'), (command) => calls.push(command));
      const hitsOf = (grant: LeaseGrant): number => (grant.hits > 0 ? grant.hits : -grant.retryAfterMs);
      // Same turn, one site: a lease takes half of what is left; hits given back are there for the next.
      const epoch = connections.failovers;
      const [a1, b1, a2, , a3] = await Promise.all([
        counters.lease('limit:0:192.0.2.1', 10, 60_000, undefined, 1),
        counters.lease('limit:0:192.0.2.2', 10, 60_000, undefined, 1),
        counters.lease('limit:0:192.0.2.1', 10, 60_000, undefined, 1),
        counters.giveBack('limit:0:192.0.2.1', 10, 60_000, 3, epoch),
        counters.lease('limit:0:192.0.2.1', 10, 60_000, undefined, 1),
      ]);
      expect([a1, b1, a2, a3].map((grant) => hitsOf(grant as LeaseGrant))).toEqual([5, 5, 2, 3]);
      expect((a1 as LeaseGrant).epoch).toBe(epoch);
      expect(calls).toEqual(['gcra']);
      // Given back in a passed epoch (a failover since the grant): nothing comes back.
      await counters.giveBack('limit:0:192.0.2.1', 10, 60_000, 3, epoch - 1);
      const rest = await Promise.all(Array.from({ length: 4 }, () => counters.lease('limit:0:192.0.2.1', 10, 60_000, undefined, 1)));
      // 3 left, each lease half of what is left and at least one hit.
      expect(rest.map((grant) => grant.hits)).toEqual([1, 1, 1, 0]);
      const none = rest[3]!;
      // Past the limit: how long until one hit fits (one interval of 6 s, less what passed).
      expect(none.retryAfterMs).toBeGreaterThan(5_000);
      expect(none.retryAfterMs).toBeLessThanOrEqual(6_000);

      // Many sites: one hit a lease, the exact check. Two rates in one call, each key against its own.
      const sites = 1_000_000;
      calls.length = 0;
      const mixed = await Promise.all([
        counters.lease('limit:1:192.0.2.9', 1, 60_000, undefined, sites),
        counters.lease('limit:0:192.0.2.9', 3, 60_000, undefined, sites),
        counters.lease('limit:1:192.0.2.9', 1, 60_000, undefined, sites),
        counters.lease('limit:0:192.0.2.9', 3, 60_000, undefined, sites),
      ]);
      expect(mixed.map((grant) => grant.hits)).toEqual([1, 1, 0, 1]);
      expect(calls).toEqual(['gcra']);
      // 300 at once: more than one call may hold (128 at most each), none lost, 10 granted.
      const many = await Promise.all(Array.from({ length: 300 }, () => counters.lease('limit:0:192.0.2.3', 10, 60_000, undefined, sites)));
      expect(many.reduce((sum, grant) => sum + grant.hits, 0)).toBe(10);
      expect(calls).toHaveLength(1 + 3);
      // Faster than 2 hits a millisecond (interval 0.4 ms): still limited. The leases take
      // time to grant, during which more are earned back (2.5/ms); a millisecond-resolution
      // TAT would let every one through.
      const started = Date.now();
      let granted = 0;
      // In rounds: 20,000 calls queued at once would outlast the request timeout on a busy machine.
      for (let round = 0; round < 20; round++) {
        for (const grant of await Promise.all(Array.from({ length: 1_000 }, () => counters.lease('limit:0:192.0.2.8', 5_000, 2_000, undefined, sites))))
          granted += grant.hits;
      }
      const earned = Math.ceil((Date.now() - started) / 0.4) + 1;
      expect(granted).toBeGreaterThanOrEqual(5_000);
      expect(granted).toBeLessThanOrEqual(5_000 + earned);
      // A failed call fails every operation of its batch (the facade then decides locally).
      await redis.stop();
      const failed = await Promise.allSettled([
        counters.lease('limit:0:192.0.2.4', 2, 60_000, undefined, 1),
        counters.lease('limit:0:192.0.2.5', 2, 60_000, undefined, 1),
      ]);
      expect(failed.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    }));
});

describe('the first connection', () => {
  it('is over as soon as a single server refuses it, not when its timeout runs out; a server that comes up later is used', async () => {
    const port = await freePort();
    const connections = new RedisConnections(await settingsFor(port), 'refused', pino({ level: 'silent' }));
    connections.connect();
    try {
      // A timeout no test waits for: 'timeout' would mean the refusal was not taken as an answer.
      const first = await connections.firstConnect(600_000);
      expect(first).toMatchObject({ state: 'unreachable', message: expect.stringContaining(`127.0.0.1:${port}`) });
      await startRedis({ port });
      await waitFor(() => connections.health().up || undefined, 'the connections to reach the server started afterwards', 20_000);
    } finally {
      await connections.close();
    }
  }, 60_000);
});

describe('audit trail in Redis', () => {
  it('keeps the trail near its length when many entries share one millisecond, and never twice the same entry', () =>
    withConnections('audit', async (connections, redis) => {
      const trail = new RedisAudit(connections, new RedisKeys('palisade'), 100);
      await waitFor(() => connections.dedicatedClient('background').status === 'ready', 'the background connection');
      const at = Date.now();
      const batch = (from: number) =>
        Array.from({ length: 60 }, (_, i) => ({
          id: `entry-${from + i}`,
          at,
          actor: 'system',
          node: 'audit',
          action: 'expire' as const,
          target: `198.51.100.${(from + i) % 250}`,
        }));
      await trail.append(batch(0));
      await trail.append(batch(60));
      await trail.append(batch(60)); // re-asserted: no duplicate
      const size = await redis.client().zcard('palisade:audit:trail');
      expect(size).toBeGreaterThanOrEqual(99);
      expect(size).toBeLessThanOrEqual(100);
      const newest = await trail.read(5);
      expect(new Set(newest.map((e) => e.id)).size).toBe(5);
    }));
});
