import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { settingsSpec } from '../../src/settings/catalog.js';
import { loadSettings } from '../../src/settings/load.js';
import type { RedisSettings } from '../../src/settings/types.generated.js';
import { BanLedger } from '../../src/store/ban-ledger.js';
import { RedisBanSync, type ResyncCause } from '../../src/store/redis/ban-sync.js';
import { RedisConnections } from '../../src/store/redis/connections.js';
import { RedisKeys } from '../../src/store/redis/keys.js';
import { TEST_SESSIONS_SECRET } from '../helpers/palisade.js';
import { startRedis, stopAllRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

afterAll(stopAllRedis);

/**
 * A node's first load of the shared bans is one full resync: a million bans take seconds to
 * read, and neither the first master reached nor a heartbeat arriving meanwhile (the epoch
 * not read yet) may queue a second one.
 */
describe('the first ban resync', () => {
  it('runs once: not again for the first master reached, nor for a heartbeat while it runs', async () => {
    const redis = await startRedis();
    const loaded = loadSettings(settingsSpec(), { USE_REDIS: 'yes', REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port), SESSIONS_SECRET: TEST_SESSIONS_SECRET });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const connections = new RedisConnections(loaded.settings as unknown as RedisSettings, 'first-resync', pino({ level: 'silent' }));
    const causes: ResyncCause[] = [];
    const sync = new RedisBanSync(connections, new RedisKeys('palisade'), new BanLedger('first-resync'), pino({ level: 'silent' }), {
      streamLength: 1_000,
      journalLimit: 1_000,
      onResync: (cause) => causes.push(cause),
    });
    const background = connections.dedicatedClient('background');
    try {
      // Started before anything connects, as a node does: the first master is reached after.
      sync.start();
      connections.connect();
      await waitFor(() => background.status === 'ready' || undefined, 'the background connection');
      // The heartbeat's check, while the start's resync has not read the epoch yet.
      await sync.check();
      expect(await sync.loaded(10_000)).toBe(true);
      await sync.check();
      expect(causes).toEqual(['start']);
    } finally {
      await sync.stop();
      await connections.close();
    }
  });
});
