import type { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { startRedis, type RedisServer } from './redis.js';
import { waitFor } from './wait.js';

/** A master, its replicas and three sentinels, all real processes on loopback. */
export interface SentinelCluster {
  readonly masterName: string;
  readonly servers: RedisServer[];
  readonly sentinels: RedisServer[];
  /** `REDIS_SENTINEL_HOSTS` for these sentinels. */
  readonly sentinelHosts: string;
  /** The server the sentinels currently name as master. */
  currentMaster(): Promise<RedisServer>;
  /** Asks a sentinel to fail over and resolves with the new master once all sentinels agree. */
  failover(): Promise<RedisServer>;
  /** Resolves when every sentinel names a master other than `old` and it has the master role. */
  waitForNewMaster(old: RedisServer, timeoutMs?: number): Promise<RedisServer>;
  /** Waits until every live replica is connected and in sync (so a failover can pick it). */
  waitForReplicasInSync(timeoutMs?: number): Promise<void>;
}

const DOWN_AFTER_MS = 1_000;

/** Starts `replicas + 1` redis servers and three sentinels monitoring them as `mymaster`. */
export async function startSentinelCluster(replicas = 2): Promise<SentinelCluster> {
  const masterName = 'mymaster';
  const master = await startRedis();
  const servers = [master];
  for (let i = 0; i < replicas; i++) servers.push(await startRedis({ config: [`replicaof 127.0.0.1 ${master.port}`] }));
  const sentinels: RedisServer[] = [];
  for (let i = 0; i < 3; i++) {
    sentinels.push(
      await startRedis({
        sentinel: true,
        port: await freePort(),
        config: [
          `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${masterName} ${DOWN_AFTER_MS}`,
          `sentinel failover-timeout ${masterName} 10000`,
          `sentinel parallel-syncs ${masterName} 1`,
        ],
      }),
    );
  }
  const sentinelClients = sentinels.map((s) => s.client());
  const masterPortFrom = async (client: Redis): Promise<number | undefined> => {
    const reply = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName).catch(() => null)) as [string, string] | null;
    return reply ? Number(reply[1]) : undefined;
  };
  const live = (): RedisServer[] => servers.filter((s) => s.process.exitCode === null && s.process.signalCode === null);
  const byPort = (port: number | undefined): RedisServer | undefined => servers.find((s) => s.port === port);
  const isMaster = async (server: RedisServer): Promise<boolean> => {
    const client = server.client({ connectTimeout: 300, commandTimeout: 300, maxRetriesPerRequest: 0 });
    try {
      const role = (await client.call('ROLE')) as [string];
      return role[0] === 'master';
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  };

  const cluster: SentinelCluster = {
    masterName,
    servers,
    sentinels,
    sentinelHosts: sentinels.map((s) => `127.0.0.1:${s.port}`).join(' '),
    async currentMaster() {
      const port = await masterPortFrom(sentinelClients[0]!);
      const server = byPort(port);
      if (!server) throw new Error(`sentinel names an unknown master port ${port}`);
      return server;
    },
    async waitForNewMaster(old, timeoutMs = 30_000) {
      return waitFor(
        async () => {
          const ports = await Promise.all(sentinelClients.map(masterPortFrom));
          if (!ports.every((p) => p !== undefined && p === ports[0] && p !== old.port)) return undefined;
          const server = byPort(ports[0]);
          return server && (await isMaster(server)) ? server : undefined;
        },
        'a new master agreed by all sentinels',
        timeoutMs,
        100,
      );
    },
    async waitForReplicasInSync(timeoutMs = 30_000) {
      await waitFor(
        async () => {
          const master = await cluster.currentMaster();
          const client = master.client();
          try {
            const info = await client.info('replication');
            const expected = live().length - 1;
            const online = (info.match(/^slave\d+:.*state=online/gm) ?? []).length;
            return online >= expected;
          } finally {
            client.disconnect();
          }
        },
        'replicas in sync',
        timeoutMs,
        200,
      );
    },
    async failover() {
      const old = await cluster.currentMaster();
      // Refused (NOGOODSLAVE, INPROG) while no replica is in sync yet or sentinels still settle
      // after the previous failover: retry until one is accepted.
      await waitFor(
        async () => {
          try {
            return (await sentinelClients[0]!.call('SENTINEL', 'FAILOVER', masterName)) === 'OK';
          } catch {
            return false;
          }
        },
        'SENTINEL FAILOVER to be accepted',
        20_000,
        250,
      );
      return cluster.waitForNewMaster(old);
    },
  };
  await cluster.waitForReplicasInSync();
  // Sentinels discover replicas and each other through the master: wait until they have.
  await waitFor(
    async () => {
      const counts = await Promise.all(
        sentinelClients.map(async (c) => {
          const replicasSeen = ((await c.call('SENTINEL', 'REPLICAS', masterName)) as unknown[]).length;
          const sentinelsSeen = ((await c.call('SENTINEL', 'SENTINELS', masterName)) as unknown[]).length;
          return replicasSeen === replicas && sentinelsSeen === 2;
        }),
      );
      return counts.every(Boolean);
    },
    'sentinels to discover replicas and each other',
    20_000,
    100,
  );
  return cluster;
}
