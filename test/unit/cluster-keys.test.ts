import { generateMulti } from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { counterPath } from '../../src/store/counter-keys.js';
import { RedisKeys } from '../../src/store/redis/keys.js';
import { SCRIPTS } from '../../src/store/redis/scripts.js';

const keys = new RedisKeys('palisade', true);
const targets = ['198.51.100.7', '2001:db8::/48', '10.0.0.0/8', '203.0.113.200'];
const paths = ['limit:0:198.51.100.7', 'limit:2:2001:db8:1::/64', 'bad-behavior:status:h0123456789abcdef0123456789abcdef'];

/**
 * The keys each script (and each multi-key command) is given on a Redis Cluster: they must
 * share one slot, or Redis answers CROSSSLOT. Every script of scripts.ts needs its case here.
 */
const scriptKeys: Record<string, string[][]> = {
  palisadeBanApply: targets.map((t) => [keys.ban(t), keys.banIndex, keys.tombstone(t), keys.tombstoneIndex, keys.banStream, keys.banDigest]),
  // The sweep also deletes records it builds from the prefix: the same slot as its indexes.
  palisadeBanSweep: [[keys.banIndex, keys.tombstoneIndex, keys.banDigest, ...targets.map((t) => keys.banRecordPrefix + t)]],
  palisadeBanDigestRebuild: [[keys.banIndex, keys.banDigest]],
  palisadeBanDigestRead: [[keys.banDigest, keys.banStream]],
  palisadeBanMissing: [[...targets.map((t) => keys.ban(t)), ...targets.map((t) => keys.tombstone(t)), keys.banIndex, keys.tombstoneIndex]],
  // One call per slot: a client's keys; the batcher groups by slot (counters.ts).
  palisadeGcra: paths.map((p) => [keys.rate(p)]),
  // Declares the first bucket only; the others ride in ARGV, on its master (tested on a real cluster).
  palisadeGcraLocal: paths.map((p) => [keys.rate(p)]),
  palisadeWindowCount: paths.map((p) => [keys.window(p)]),
  palisadeGcraCharge: paths.map((p) => [keys.rate(p)]),
  palisadeGcraPeek: paths.map((p) => [keys.rate(p)]),
  palisadeSessionGet: [[keys.session('adm_0123456789abcdef0123456789abcdef')]],
  palisadeLockAcquire: [[keys.lock('job:redis.ban-sweep')]],
  palisadeLockRelease: [[keys.lock('job:redis.ban-sweep')]],
  palisadeAuditAppend: [[keys.audit]],
};

describe('Redis Cluster key layout', () => {
  it('has a case for every script', () => {
    expect(Object.keys(scriptKeys).sort()).toEqual(Object.keys(SCRIPTS).sort());
  });

  for (const [script, calls] of Object.entries(scriptKeys)) {
    it(`${script}: every call's keys hash to one slot`, () => {
      for (const call of calls) expect(generateMulti(call), call.join(' ')).toBeGreaterThanOrEqual(0);
    });
  }

  it('multi-key commands touch one slot: resync MGET, a counter reset, the permission probe', () => {
    expect(generateMulti(targets.map((t) => keys.ban(t)))).toBeGreaterThanOrEqual(0);
    expect(generateMulti(targets.map((t) => keys.tombstone(t)))).toBeGreaterThanOrEqual(0);
    for (const path of paths) expect(generateMulti([keys.rate(path), keys.window(path)])).toBeGreaterThanOrEqual(0);
    expect(generateMulti(['string', 'hash', 'zset', 'stream'].map((kind) => keys.probe('node-a', kind)))).toBeGreaterThanOrEqual(0);
  });

  it('spreads clients over slots, and keeps the untagged layout without a cluster', () => {
    const slots = new Set(
      Array.from({ length: 50 }, (_, i) => generateMulti([keys.rate(counterPath({ plugin: 'limit', rule: '0', client: `198.51.100.${i}` }))])),
    );
    expect(slots.size).toBeGreaterThan(40);
    const plain = new RedisKeys('palisade');
    expect([plain.ban('198.51.100.7'), plain.rate('limit:0:198.51.100.7'), plain.banStream]).toEqual([
      'palisade:ban:198.51.100.7',
      'palisade:limit:0:198.51.100.7:gcra',
      'palisade:bans:stream',
    ]);
    expect([keys.ban('198.51.100.7'), keys.rate('limit:0:198.51.100.7'), keys.banStream]).toEqual([
      'palisade:{bans}:ban:198.51.100.7',
      'palisade:limit:0:{198.51.100.7}:gcra',
      'palisade:{bans}:bans:stream',
    ]);
  });
});
