import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { productSources, withoutComments } from '../helpers/sources.js';
import { NodeStore } from '../../src/store/store.js';
import { describeStoreContract } from '../helpers/store-contract.js';

const store = new NodeStore('local-node');
afterAll(() => store.close());
describeStoreContract('local (USE_REDIS=no)', () => ({ one: store, flushMetrics: () => store.flushMetrics() }), { shared: false });

describe('the audit trail has one writer', () => {
  it('is written only by the ban facet', () => {
    const writers = [...productSources()].filter(([, text]) => /\baudit(?:Trail)?\.record\(/.test(withoutComments(text))).map(([path]) => path);
    expect(writers).toEqual([join('src', 'store', 'bans.ts')]);
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
