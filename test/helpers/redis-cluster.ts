import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { freePort } from './ports.js';
import { startRedis, type RedisServer } from './redis.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

/** A real Redis Cluster on loopback: `masters` masters, one replica each. */
export interface RedisClusterUnderTest {
  readonly servers: RedisServer[];
  /** `host:port` of every node, for REDIS_CLUSTER_NODES. */
  readonly seeds: string;
  /** A cluster client for assertions (plain ioredis, not Palisade's). */
  client(): Cluster;
  /** The server that is master of the slot of `key` now. */
  masterOf(key: string): Promise<RedisServer>;
  /** Resolves once every slot is served and every replica is in sync (`cluster_state:ok`, links up). */
  settled(timeoutMs?: number): Promise<void>;
  /** `redis-cli --cluster <args…>` against the first live node. */
  cli(...args: string[]): Promise<string>;
}

/**
 * Starts `masters × 2` `redis-server --cluster-enabled yes` processes on free loopback ports
 * (no persistence, `cluster-node-timeout 2000`) and joins them with
 * `redis-cli --cluster create … --cluster-replicas 1 --cluster-yes`. Stopped by PID with
 * the other servers of the file ({@link stopAllRedis}).
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterUnderTest> {
  const servers: RedisServer[] = [];
  for (let i = 0; i < masters * 2; i++) {
    const port = await freePort();
    // The bus port is handed out too: the default, port + 10,000, may be anyone's.
    const busPort = await freePort();
    servers.push(
      await startRedis({
        port,
        config: [
          'cluster-enabled yes',
          `cluster-port ${busPort}`,
          `cluster-config-file nodes-${port}.conf`,
          'cluster-node-timeout 2000',
          'cluster-announce-ip 127.0.0.1',
        ],
      }),
    );
  }
  const seeds = servers.map((s) => `127.0.0.1:${s.port}`);
  await run('redis-cli', ['--cluster', 'create', ...seeds, '--cluster-replicas', '1', '--cluster-yes']);
  const clients: Cluster[] = [];
  const cluster: RedisClusterUnderTest = {
    servers,
    seeds: seeds.join(' '),
    client() {
      const client = new Cluster(
        servers.filter((s) => s.process.exitCode === null).map((s) => ({ host: '127.0.0.1', port: s.port })),
        { clusterRetryStrategy: () => 200 },
      );
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    },
    async masterOf(key) {
      const probe = servers.find((s) => s.process.exitCode === null && s.process.signalCode === null)!.client();
      try {
        const slot = (await probe.call('CLUSTER', 'KEYSLOT', key)) as number;
        const shards = (await probe.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, ...unknown[]], ...unknown[]]>;
        const owner = shards.find(([from, to]) => slot >= from && slot <= to)!;
        return servers.find((s) => s.port === owner[2][1])!;
      } finally {
        probe.disconnect();
      }
    },
    async settled(timeoutMs = 30_000) {
      await waitFor(
        async () => {
          for (const server of servers) {
            if (server.process.exitCode !== null || server.process.signalCode !== null) continue;
            const client = server.client();
            try {
              const info = (await client.call('CLUSTER', 'INFO')) as string;
              if (!info.includes('cluster_state:ok')) return false;
              const replication = await client.info('replication');
              if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return false;
            } finally {
              client.disconnect();
            }
          }
          return true;
        },
        'the cluster to settle (every slot served, every replica in sync)',
        timeoutMs,
        100,
      );
    },
    async cli(...args) {
      const live = servers.find((s) => s.process.exitCode === null && s.process.signalCode === null)!;
      const { stdout } = await run('redis-cli', ['--cluster', args[0]!, `127.0.0.1:${live.port}`, ...args.slice(1)], { maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    },
  };
  await cluster.settled();
  return cluster;
}
