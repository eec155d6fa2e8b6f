import { afterAll, beforeAll, expect } from 'vitest';
import type { NodeStore } from '../../src/store/store.js';
import { startInProcessNode, type InProcessNode } from '../helpers/in-process.js';
import { keyHygieneViolations } from '../helpers/key-hygiene.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis.js';
import { startSentinelCluster } from '../helpers/sentinel.js';
import { describeStoreContract } from '../helpers/store-contract.js';
import { waitFor } from '../helpers/wait.js';

const nodes: InProcessNode[] = [];
let standalone: [InProcessNode, InProcessNode];
let sentinel: [InProcessNode, InProcessNode];
let fallback: InProcessNode;

const flushAll = async (list: InProcessNode[]): Promise<void> => {
  await Promise.all(list.map((n) => (n.store as NodeStore).flushMetrics()));
};
const synced = (node: InProcessNode): boolean => node.lines.some((l) => l.msg === 'bans resynced with Redis');

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
  const viaHost = (name: string) => startInProcessNode({ NODE_NAME: name, USE_REDIS: 'yes', REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port) });
  standalone = [await viaHost('contract-a'), await viaHost('contract-b')];

  const cluster = await startSentinelCluster(1);
  const viaSentinel = (name: string) => startInProcessNode({ NODE_NAME: name, USE_REDIS: 'yes', REDIS_SENTINEL_HOSTS: cluster.sentinelHosts });
  sentinel = [await viaSentinel('contract-s1'), await viaSentinel('contract-s2')];

  const down = await startRedis();
  await down.stop();
  fallback = await startInProcessNode({ NODE_NAME: 'contract-fallback', USE_REDIS: 'yes', REDIS_HOST: '127.0.0.1', REDIS_PORT: String(down.port), REDIS_TIMEOUT: '500ms' });
  nodes.push(...standalone, ...sentinel, fallback);
  await waitFor(() => [...standalone, ...sentinel].every(synced), 'every node to sync with Redis');
}, 120_000);

afterAll(async () => {
  // Every key the contract wrote follows the documented layout (patterns, TTLs, 256-byte cap).
  const problems = await keyHygieneViolations(redis.client());
  await Promise.all(nodes.map((n) => n.stop()));
  await stopAllRedis();
  expect(problems).toEqual([]);
});

describeStoreContract('Redis standalone', () => ({ one: standalone[0].store, other: standalone[1].store, flushMetrics: () => flushAll(standalone) }), { shared: true });
describeStoreContract('Redis behind Sentinel', () => ({ one: sentinel[0].store, other: sentinel[1].store, flushMetrics: () => flushAll(sentinel) }), { shared: true });
describeStoreContract('local fallback of a node whose Redis is down', () => ({ one: fallback.store, locksGranted: false, flushMetrics: () => flushAll([fallback]) }), { shared: false });
