import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { settingsSpec } from '../../src/plugin/catalog.js';
import { loadSettings } from '../../src/settings/load.js';
import type { RedisSettings } from '../../src/settings/types.generated.js';
import { RedisConnections } from '../../src/store/redis/connections.js';

interface StubbedPoolClient {
  status: string;
  nodes(role: string): Array<{ status: string }>;
  refreshSlotsCache: () => void;
}

/**
 * A cluster node's request-path connections, never connected: each pool client stands ready,
 * its connections to three masters as `masters` says, its slot-map refreshes counted.
 */
async function poolWithMasters(masters: string[]): Promise<{ connections: RedisConnections; refreshes: () => number[] }> {
  const loaded = await loadSettings(settingsSpec(builtinPlugins), {
    USE_REDIS: 'yes',
    REDIS_CLUSTER: 'yes',
    REDIS_CLUSTER_NODES: '127.0.0.1:7000',
    SESSIONS_SECRET: 'x'.repeat(32),
    // The WAF's settings check compiles the CRS (seconds of CPU on loaded cores): not what this is about.
    USE_MODSECURITY: 'no',
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const connections = new RedisConnections(loaded.settings as unknown as RedisSettings, 'map-test', pino({ level: 'silent' }));
  const pool = (connections as unknown as { pool: StubbedPoolClient[] }).pool;
  const counts = pool.map(() => 0);
  pool.forEach((client, i) => {
    client.status = 'ready';
    client.nodes = () => masters.map((status) => ({ status }));
    client.refreshSlotsCache = () => void counts[i]!++;
  });
  return { connections, refreshes: () => [...counts] };
}

const timedOut = (): Promise<never> => Promise.reject(Object.assign(new Error('Command timed out'), { code: 'ETIMEDOUT' }));

describe('a cluster pool whose slot map names a master it cannot reach', () => {
  afterEach(() => void vi.useRealTimers());

  it('reads the map again on every pool connection when a call fails, at most every 250 ms', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { connections, refreshes } = await poolWithMasters(['ready', 'reconnecting', 'ready']);
    await expect(connections.withinBudget(timedOut())).rejects.toThrow('Command timed out');
    const once = refreshes();
    expect(once.length).toBeGreaterThan(0);
    expect(once.every((count) => count === 1)).toBe(true);
    await expect(connections.withinBudget(timedOut())).rejects.toThrow();
    expect(refreshes()).toEqual(once);
    vi.setSystemTime(Date.now() + 251);
    await expect(connections.withinBudget(timedOut())).rejects.toThrow();
    expect(refreshes().every((count) => count === 2)).toBe(true);
  });

  it('does not when every master is reachable (a slow or refusing one), nor when the call is answered', async () => {
    const { connections, refreshes } = await poolWithMasters(['ready', 'ready', 'ready']);
    await expect(connections.withinBudget(timedOut())).rejects.toThrow();
    expect(await connections.withinBudget(Promise.resolve('answer'))).toBe('answer');
    expect(refreshes().every((count) => count === 0)).toBe(true);
    const down = await poolWithMasters(['ready', 'reconnecting', 'ready']);
    expect(await down.connections.withinBudget(Promise.resolve('answer'))).toBe('answer');
    expect(down.refreshes().every((count) => count === 0)).toBe(true);
  });
});
