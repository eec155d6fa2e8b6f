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
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';
import type { RateDecision } from '../../src/store/types.js';

afterAll(stopAllRedis);

function settingsFor(port: number): RedisSettings {
  // The scripts' answers are under test here, not the request budget: a budget of 50 ms (the
  // default) would turn a batch a loaded machine answers late into a failure of the test.
  const loaded = loadSettings(settingsSpec(builtinPlugins), { USE_REDIS: 'yes', REDIS_HOST: '127.0.0.1', REDIS_PORT: String(port), REDIS_KEEPALIVE_POOL: '2', REDIS_REQUEST_TIMEOUT: '5s', SESSIONS_SECRET: TEST_SESSIONS_SECRET });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.settings as unknown as RedisSettings;
}

/** Runs `test` with ready request-path connections to a fresh redis-server; closes them after. */
async function withConnections(name: string, test: (connections: RedisConnections, redis: RedisServer) => Promise<void>): Promise<void> {
  const redis = await startRedis();
  const connections = new RedisConnections(settingsFor(redis.port), name, pino({ level: 'silent' }));
  connections.connect();
  try {
    expect((await connections.firstConnect(5_000)).state).toBe('ready');
    await test(connections, redis);
  } finally {
    await connections.close();
  }
}

describe('request-path connections', () => {
  it('reloads scripts after the script cache is emptied (failover, restart, SCRIPT FLUSH)', () =>
    withConnections('scripts', async (connections, redis) => {
      // One rate (60 s, 2 hits); the answer per key is the hits left, or minus the wait.
      const first = await connections.run((c) => c.palisadeGcra(1, 'palisade:test:gcra:a', 1, 60_000, 2));
      expect(first).toEqual([1]);
      await redis.client().script('FLUSH');
      const second = await connections.run((c) => c.palisadeGcra(1, 'palisade:test:gcra:a', 1, 60_000, 2));
      expect(second).toEqual([0]);
      const third = await connections.run((c) => c.palisadeGcra(1, 'palisade:test:gcra:a', 1, 60_000, 2));
      expect(third[0]).toBeLessThan(-25_000);
      expect(await redis.client().pttl('palisade:test:gcra:a')).toBeGreaterThan(0);
    }));

  it('sweeps expired bans out of Redis and names them for the audit trail', () =>
    withConnections('sweep', async (connections, redis) => {
      const keys = new RedisKeys('palisade');
      const apply = (target: string, expiresAt: number) => {
        const ban = { target, reason: 'r', origin: 'api', actor: 'a', node: 'n', createdAt: 1, expiresAt, evidence: '', version: 1 };
        return connections.run((c) => c.palisadeBanApply(keys.ban(target), keys.banIndex, keys.tombstone(target), keys.tombstoneIndex, keys.banStream, keys.banDigest, 'ban', target, 1, 'n', JSON.stringify({ op: 'ban', ban }), expiresAt, 1000, 100));
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
        return connections.run((c) => c.palisadeBanApply(keys.ban(target), keys.banIndex, keys.tombstone(target), keys.tombstoneIndex, keys.banStream, keys.banDigest, op, target, version, 'n', JSON.stringify(body), expiresAt ?? 'inf', 60_000, 100));
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

  it('decides rate checks sent together exactly as one by one, in one script call per turn', () =>
    withConnections('batch', async (connections, redis) => {
      const calls: string[] = [];
      const counters = new RedisCounters(connections, new RedisKeys('palisade'), (command) => calls.push(command));
      // Same turn: client a three times (limit 2), client b once, interleaved.
      const decisions = await Promise.all([
        counters.rate('limit:0:192.0.2.1', 2, 60_000),
        counters.rate('limit:0:192.0.2.2', 2, 60_000),
        counters.rate('limit:0:192.0.2.1', 2, 60_000),
        counters.rate('limit:0:192.0.2.1', 2, 60_000),
      ]);
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
      expect(decisions.map((d) => d.remaining)).toEqual([1, 1, 0, 0]);
      expect(decisions[3]!.retryAfterMs).toBeGreaterThan(25_000);
      expect(calls).toEqual(['gcra']);
      // Two rates in one call: each key is checked against its own.
      const mixed = await Promise.all([
        counters.rate('limit:1:192.0.2.9', 1, 60_000),
        counters.rate('limit:0:192.0.2.9', 3, 60_000),
        counters.rate('limit:1:192.0.2.9', 1, 60_000),
        counters.rate('limit:0:192.0.2.9', 3, 60_000),
      ]);
      expect(mixed.map((d) => [d.allowed, d.remaining])).toEqual([
        [true, 0],
        [true, 2],
        [false, 0],
        [true, 1],
      ]);
      expect(calls).toHaveLength(2);
      // 300 at once: more than one call may hold (128 at most each), none lost, 10 allowed.
      const many = await Promise.all(Array.from({ length: 300 }, () => counters.rate('limit:0:192.0.2.3', 10, 60_000)));
      expect(many.filter((d) => d.allowed)).toHaveLength(10);
      expect(calls).toHaveLength(2 + 3);
      // Faster than 2 hits a millisecond (interval 0.4 ms): still limited. The hits take
      // time to check, during which more are earned back (2.5/ms); a millisecond-resolution
      // TAT would let every one through.
      const started = Date.now();
      const fast: RateDecision[] = [];
      // In rounds: 20,000 calls queued at once would outlast the request timeout on a busy machine.
      for (let round = 0; round < 20; round++) {
        fast.push(...(await Promise.all(Array.from({ length: 1_000 }, () => counters.rate('limit:0:192.0.2.8', 5_000, 2_000)))));
      }
      const earned = Math.ceil((Date.now() - started) / 0.4) + 1;
      const allowed = fast.filter((d) => d.allowed).length;
      expect(allowed).toBeGreaterThanOrEqual(5_000);
      expect(allowed).toBeLessThanOrEqual(5_000 + earned);
      // A failed call fails every check of its batch (the facade then counts locally).
      await redis.stop();
      const failed = await Promise.allSettled([counters.rate('limit:0:192.0.2.4', 2, 60_000), counters.rate('limit:0:192.0.2.5', 2, 60_000)]);
      expect(failed.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    }));
});

describe('audit trail in Redis', () => {
  it('keeps the trail near its length when many entries share one millisecond, and never twice the same entry', () =>
    withConnections('audit', async (connections, redis) => {
      const trail = new RedisAudit(connections, new RedisKeys('palisade'), 100);
      await waitFor(() => connections.dedicatedClient('background').status === 'ready', 'the background connection');
      const at = Date.now();
      const batch = (from: number) =>
        Array.from({ length: 60 }, (_, i) => ({ id: `entry-${from + i}`, at, actor: 'system', node: 'audit', action: 'expire' as const, target: `198.51.100.${(from + i) % 250}` }));
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
