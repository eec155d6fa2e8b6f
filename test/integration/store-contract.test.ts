import { afterAll, beforeAll, expect } from 'vitest';
import { startBackendStore, type BackendStore } from '../helpers/backend-store.js';
import { keyHygieneViolations } from '../helpers/key-hygiene.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis.js';
import { startRedisCluster, type RedisClusterUnderTest } from '../helpers/redis-cluster.js';
import { startSentinelCluster } from '../helpers/sentinel.js';
import { describeStoreContract } from '../helpers/store-contract.js';
import { attachWorker, type AttachedWorker } from '../helpers/worker-store.js';

/** The store contract against each Redis backend directly: two stores sharing one Redis each way, and the fallback of one whose Redis is down. */
const stores: BackendStore[] = [];
let standalone: [BackendStore, BackendStore];
let sentinel: [BackendStore, BackendStore];
let fallback: BackendStore;
/** A worker of each standalone node: workers of two nodes share through primaries and Redis. */
let workers: [AttachedWorker, AttachedWorker];
let onCluster: [BackendStore, BackendStore];
let redis: RedisServer;
let redisCluster: RedisClusterUnderTest;

const flushAll = async (list: BackendStore[]): Promise<void> => {
  await Promise.all(list.map((s) => s.store.flushMetrics()));
};

beforeAll(async () => {
  redis = await startRedis();
  const viaHost = (name: string) => startBackendStore({ NODE_NAME: name, REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port) });
  standalone = [await viaHost('contract-a'), await viaHost('contract-b')];

  const cluster = await startSentinelCluster(1);
  const viaSentinel = (name: string) => startBackendStore({ NODE_NAME: name, REDIS_SENTINEL_HOSTS: cluster.sentinelHosts });
  sentinel = [await viaSentinel('contract-s1'), await viaSentinel('contract-s2')];

  redisCluster = await startRedisCluster(3);
  const viaCluster = (name: string) => startBackendStore({ NODE_NAME: name, REDIS_CLUSTER: 'yes', REDIS_CLUSTER_NODES: redisCluster.seeds });
  onCluster = [await viaCluster('contract-c1'), await viaCluster('contract-c2')];

  const down = await startRedis();
  await down.stop();
  fallback = await startBackendStore({
    NODE_NAME: 'contract-fallback',
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(down.port),
    REDIS_TIMEOUT: '500ms',
    REDIS_REQUEST_TIMEOUT: '500ms',
  });
  stores.push(...standalone, ...sentinel, ...onCluster, fallback);
  workers = [await attachWorker(standalone[0].store), await attachWorker(standalone[1].store)];
  expect([...standalone, ...sentinel, ...onCluster].every((s) => s.store.readiness().ready)).toBe(true);
}, 120_000);

afterAll(async () => {
  // Every key the contract wrote follows the documented layout (patterns, TTLs, 256-byte cap).
  const problems = await keyHygieneViolations(redis.client());
  for (const server of redisCluster.servers) {
    const client = server.client();
    // Masters hold every key; a replica answers MOVED to reads.
    if ((await client.info('replication')).includes('role:master')) problems.push(...(await keyHygieneViolations(client)));
  }
  await Promise.all(workers.map((w) => w.close()));
  await Promise.all(stores.map((s) => s.close()));
  await stopAllRedis();
  expect(problems).toEqual([]);
});

describeStoreContract('Redis standalone', () => ({ one: standalone[0].store, other: standalone[1].store, flushMetrics: () => flushAll(standalone) }), {
  shared: true,
});
describeStoreContract('Redis behind Sentinel', () => ({ one: sentinel[0].store, other: sentinel[1].store, flushMetrics: () => flushAll(sentinel) }), {
  shared: true,
});
describeStoreContract('Redis Cluster', () => ({ one: onCluster[0].store, other: onCluster[1].store, flushMetrics: () => flushAll(onCluster) }), {
  shared: true,
});
describeStoreContract(
  'workers of two nodes on Redis standalone',
  () => ({
    one: workers[0].store,
    other: workers[1].store,
    flushMetrics: async () => {
      await Promise.all(workers.map((w) => w.store.report()));
      await flushAll(standalone);
    },
  }),
  { shared: true },
);
describeStoreContract(
  'local fallback of a store whose Redis is down',
  () => ({ one: fallback.store, locksGranted: false, flushMetrics: () => flushAll([fallback]) }),
  { shared: false },
);
