import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productSources, withoutComments } from '../helpers/sources.js';
import { NodeStore } from '../../src/store/store.js';
import { describeStoreContract } from '../helpers/store-contract.js';
import { waitFor } from '../helpers/wait.js';
import { attachWorker, type AttachedWorker } from '../helpers/worker-store.js';

const store = new NodeStore('local-node');
afterAll(() => store.close());
describeStoreContract('local (USE_REDIS=no)', () => ({ one: store, flushMetrics: () => store.flushMetrics() }), { shared: false });

// Two workers of one node: they share through their primary as nodes share through Redis.
const primary = new NodeStore('workers-node');
let workers: [AttachedWorker, AttachedWorker];
beforeAll(async () => {
  workers = [await attachWorker(primary), await attachWorker(primary)];
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
  await primary.close();
});
describeStoreContract(
  'workers of one local node',
  () => ({
    one: workers[0].store,
    other: workers[1].store,
    flushMetrics: async () => {
      await Promise.all(workers.map((w) => w.store.report()));
      await primary.flushMetrics();
    },
  }),
  { shared: true },
);

describe('a worker joining a node', () => {
  it('loads every ban the node holds, then follows changes made anywhere in order', async () => {
    const node = new NodeStore('join-node');
    try {
      for (let i = 0; i < 12_000; i++)
        await node.bans.add({ target: `10.9.${i >> 8}.${i & 255}`, reason: 'bulk', origin: 'import', durationMs: 0 }, { waitMs: 0 });
      await node.bans.add({ target: '203.0.113.0/24', reason: 'net', origin: 'api', durationMs: 60_000 });
      const first = await attachWorker(node);
      expect(first.store.bans.count()).toBe(12_001);
      expect(first.store.bans.match('10.9.46.223')).toMatchObject({ target: '10.9.46.223', expiresAt: null });
      expect(first.store.bans.match('203.0.113.9')).toMatchObject({ target: '203.0.113.0/24' });
      const second = await attachWorker(node);
      const heard: string[] = [];
      second.store.bans.onChange((change) => heard.push(`${change.op} ${change.op === 'ban' ? change.ban.target : change.tombstone.target}`));
      // A ban made in one worker: enforced there at once, recorded by the node, pushed to the other.
      const made = first.store.bans.add({ target: '198.51.100.77', reason: 'worker', origin: 'bad-behavior', durationMs: 60_000 });
      expect(first.store.bans.match('198.51.100.77')).toBeDefined();
      const ban = await made;
      expect(node.bans.get('198.51.100.77')).toEqual(ban);
      await waitFor(() => second.store.bans.match('198.51.100.77'), 'the ban in the other worker', 2_000, 1);
      expect(await second.store.bans.remove('198.51.100.77', 'tester')).toBe(true);
      await waitFor(() => first.store.bans.match('198.51.100.77') === undefined, 'the lift in the first worker', 2_000, 1);
      expect(heard).toEqual(['ban 198.51.100.77', 'unban 198.51.100.77']);
      // Hits counted by a worker reach the node's records.
      first.store.bans.match('10.9.0.1');
      first.store.bans.match('10.9.0.1');
      await first.store.report();
      await waitFor(() => node.bans.hits('10.9.0.1') === 2, 'the hits at the node', 2_000, 1);
      await Promise.all([first.close(), second.close()]);
    } finally {
      await node.close();
    }
  });
});

describe('the audit trail has one writer', () => {
  it('is written only by the ban facet, and by the store for refused admin requests', () => {
    const writers = [...productSources()].filter(([, text]) => /\baudit(?:Trail)?\.record\(/.test(withoutComments(text))).map(([path]) => path);
    expect(writers.sort()).toEqual([join('src', 'store', 'bans.ts'), join('src', 'store', 'store.ts')]);
  });

  it('records bans, lifts and expiries made on a single node, with actor and origin', async () => {
    let now = 1_000_000;
    const store = new NodeStore('solo', () => now, 100);
    try {
      await store.bans.add({ target: '198.51.100.9', reason: 'scanner', origin: 'bad-behavior', durationMs: 1_000 });
      await store.bans.add({ target: '198.51.100.10', reason: 'by hand', origin: 'api', actor: 'zoe', durationMs: 0 });
      await store.bans.remove('198.51.100.10', 'yann');
      now += 2_000;
      store.sweep();
      const entries = await store.audit.list(10);
      expect(entries.map((e) => [e.action, e.target, e.actor, e.origin])).toEqual([
        ['expire', '198.51.100.9', 'system', 'bad-behavior'],
        ['unban', '198.51.100.10', 'yann', 'api'],
        ['ban', '198.51.100.10', 'zoe', 'api'],
        ['ban', '198.51.100.9', 'bad-behavior', 'bad-behavior'],
      ]);
      expect(new Set(entries.map((e) => e.id)).size).toBe(4);
    } finally {
      await store.close();
    }
  });
});
