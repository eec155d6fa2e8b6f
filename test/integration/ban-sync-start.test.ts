import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { settingsSpec } from '../../src/plugin/catalog.js';
import { loadSettings } from '../../src/settings/load.js';
import type { RedisSettings } from '../../src/settings/types.generated.js';
import { BanLedger } from '../../src/store/ban-ledger.js';
import { RedisBanSync, type ResyncCause } from '../../src/store/redis/ban-sync.js';
import { RedisConnections } from '../../src/store/redis/connections.js';
import { RedisKeys } from '../../src/store/redis/keys.js';
import { TEST_SESSIONS_SECRET } from '../helpers/palisade.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

afterAll(stopAllRedis);

const keys = new RedisKeys('palisade');
const BANS = 20_000;

/** A Redis holding `BANS` bans in the layout ban_apply.lua writes, and an epoch marker: a resync of several round trips. */
async function redisWithBans(): Promise<RedisServer> {
  const redis = await startRedis();
  const client = redis.client();
  const expiresAt = Date.now() + 3_600_000;
  const pipeline = client.pipeline();
  for (let i = 0; i < BANS; i++) {
    const target = `10.9.${i >> 8}.${i & 255}`;
    const ban = { target, reason: 'test', origin: 'api', actor: 'test', node: 'elsewhere', createdAt: 1, expiresAt, evidence: '', version: i + 1 };
    pipeline.set(keys.ban(target), JSON.stringify({ op: 'ban', ban }));
    pipeline.zadd(keys.banIndex, expiresAt, target);
  }
  pipeline.set(keys.banEpoch, 'before');
  await pipeline.exec();
  return redis;
}

/** A node's ban sync on `redis`, started before anything connects (as a node does), with the causes of its resyncs. */
async function syncOn(redis: RedisServer): Promise<{
  sync: RedisBanSync;
  ledger: BanLedger;
  connections: RedisConnections;
  causes: ResyncCause[];
  completed: () => number;
  close(): Promise<void>;
}> {
  const loaded = await loadSettings(settingsSpec(builtinPlugins), {
    USE_REDIS: 'yes',
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(redis.port),
    SESSIONS_SECRET: TEST_SESSIONS_SECRET,
    // The WAF's settings check compiles the CRS: not what this is about.
    USE_MODSECURITY: 'no',
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const connections = new RedisConnections(loaded.settings as unknown as RedisSettings, 'first-resync', pino({ level: 'silent' }));
  const causes: ResyncCause[] = [];
  let completed = 0;
  const ledger = new BanLedger('first-resync');
  const sync = new RedisBanSync(connections, keys, ledger, pino({ level: 'silent' }), {
    streamLength: 1_000,
    journalLimit: 1_000,
    onResync: (cause) => causes.push(cause),
    onResynced: () => completed++,
  });
  connections.dedicatedClient('background');
  return {
    sync,
    ledger,
    connections,
    causes,
    completed: () => completed,
    close: async () => {
      await sync.stop();
      await connections.close();
    },
  };
}

/**
 * A node's first load of the shared bans is one full resync: a million bans take seconds to
 * read, and neither the first master reached nor a heartbeat arriving meanwhile (the epoch
 * not read yet) may queue a second one — but Redis replaced while it reads does.
 */
describe('the first ban resync', () => {
  it('runs once: not again for the first master reached, nor for a heartbeat while it runs', async () => {
    const node = await syncOn(await redisWithBans());
    try {
      const background = node.connections.dedicatedClient('background');
      node.sync.start();
      // The heartbeat's check, as soon as the start's resync is under way (it listened first).
      const checked: Array<Promise<void>> = [];
      background.once('ready', () => void checked.push(node.sync.check()));
      node.connections.connect();
      await waitFor(() => checked.length === 1 || undefined, 'the check during the resync');
      await checked[0];
      expect(await node.sync.loaded(10_000)).toBe(true);
      expect(node.ledger.size).toBe(BANS);
      // Loaded comes before the resync's last steps (write-back, epoch): wait for its end.
      await waitFor(() => node.completed() === 1 || undefined, 'the resync completed');
      await node.sync.check();
      expect(node.causes).toEqual(['start']);
      expect(node.completed()).toBe(1);
    } finally {
      await node.close();
    }
  });

  it("runs again when Redis's ban state is replaced while it reads", async () => {
    const redis = await redisWithBans();
    const node = await syncOn(redis);
    const other = redis.client();
    try {
      // At the first ban read, another writer replaces the epoch (Redis flushed and refilled).
      const stop = node.ledger.onChange(() => {
        stop();
        void other.set(keys.banEpoch, 'after');
      });
      node.sync.start();
      node.connections.connect();
      expect(await node.sync.loaded(10_000)).toBe(true);
      await waitFor(() => node.completed() === 2 || undefined, 'a second resync, completed');
      expect(node.causes).toEqual(['start', 'epoch']);
    } finally {
      await node.close();
    }
  });
});
