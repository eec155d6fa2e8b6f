import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { parseHostPort } from '../../settings/formats.js';
import type { RedisSettings } from '../../settings/types.generated.js';

/** Sentinel spec: a few hundred ms per sentinel, then the next one. */
export const SENTINEL_TIMEOUT_MS = 500;
/** Reconnect backoff: 50 ms, 100 ms, … capped at 2 s. Never gives up. */
export const reconnectDelay = (attempt: number): number => Math.min(50 * 2 ** Math.min(attempt - 1, 6), 2_000);

/** What a connection is for; it becomes part of its `CLIENT SETNAME`. */
export type ConnectionRole = `pool-${number}` | 'stream' | 'background' | 'doctor';

/** A connection to Redis: one server (standalone, or the master a sentinel names), or a whole Redis Cluster. */
export type RedisClient = Redis | Cluster;
/** One Redis server's client (standalone, Sentinel's master, or one node of a cluster). */
export type ServerClient = Redis;
/** A Redis Cluster client. */
export type ClusterClient = Cluster;

/** True when `client` speaks to a Redis Cluster. */
export function isCluster(client: RedisClient): client is Cluster {
  return (client as Cluster).isCluster === true;
}

/** The seed nodes of a cluster: `REDIS_HOST:REDIS_PORT` and `REDIS_CLUSTER_NODES`. */
export function clusterSeeds(settings: Readonly<RedisSettings>): Array<{ host: string; port: number }> {
  const seeds = settings.REDIS_CLUSTER_NODES.map((entry) => parseHostPort(entry, 6379)!);
  if (settings.REDIS_HOST !== '') seeds.unshift({ host: settings.REDIS_HOST, port: settings.REDIS_PORT });
  return seeds;
}

/** True when Redis is reached through sentinels. */
export function usesSentinel(settings: Readonly<RedisSettings>): boolean {
  return settings.REDIS_SENTINEL_HOSTS.length > 0;
}

/** The TLS options for Redis connections, or undefined without `REDIS_SSL`. */
export function tlsOptions(settings: Readonly<RedisSettings>): ConnectionOptions | undefined {
  if (!settings.REDIS_SSL) return undefined;
  const tls: ConnectionOptions = { rejectUnauthorized: settings.REDIS_SSL_VERIFY };
  if (settings.REDIS_SSL_CA) tls.ca = readFileSync(settings.REDIS_SSL_CA);
  if (settings.REDIS_SSL_CERT) tls.cert = readFileSync(settings.REDIS_SSL_CERT);
  if (settings.REDIS_SSL_KEY) tls.key = readFileSync(settings.REDIS_SSL_KEY);
  // SNI and name verification need a hostname; an IP is checked against the certificate's IP SANs.
  if (settings.REDIS_HOST && isIP(settings.REDIS_HOST) === 0) tls.servername = settings.REDIS_HOST;
  return tls;
}

/** Where the connections go, for logs and errors: `host:port` or the sentinel master name. */
export function describeTarget(settings: Readonly<RedisSettings>): string {
  if (settings.REDIS_CLUSTER)
    return `the cluster of ${clusterSeeds(settings)
      .map((s) => (s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`))
      .join(' ')}`;
  return usesSentinel(settings)
    ? `master "${settings.REDIS_SENTINEL_MASTER}" via sentinels ${settings.REDIS_SENTINEL_HOSTS.join(' ')}`
    : `${settings.REDIS_HOST}:${settings.REDIS_PORT}`;
}

/**
 * One of the node's connections (this module is the only place Palisade makes a Redis
 * client): not connected yet (`lazyConnect`), errors left to the caller's listener.
 */
export function createRedisClient(
  settings: Readonly<RedisSettings>,
  nodeName: string,
  role: ConnectionRole,
  commandTimeoutMs: number | undefined,
): RedisClient {
  if (settings.REDIS_CLUSTER) return new Cluster(clusterSeeds(settings), clusterOptions(settings, nodeName, role, commandTimeoutMs));
  return new Redis(redisOptions(settings, nodeName, role, commandTimeoutMs));
}

/**
 * The options of a cluster client: every node connection gets the node's own options (TLS,
 * ACL user, timeouts, no offline queue, no retries); the cluster client follows `MOVED` and
 * `ASK`, refreshes its slot map on them and every 5 s, and never queues while the cluster is
 * down — a request degrades instead of waiting.
 */
function clusterOptions(settings: Readonly<RedisSettings>, nodeName: string, role: ConnectionRole, commandTimeoutMs: number | undefined): ClusterOptions {
  const {
    host: _host,
    port: _port,
    db: _db,
    retryStrategy: _retry,
    enableOfflineQueue: _queue,
    ...node
  } = redisOptions({ ...settings, REDIS_SENTINEL_HOSTS: [] }, nodeName, role, commandTimeoutMs);
  // Each node's certificate is checked against that node's own name (its announced host),
  // not the seed's: no fixed servername.
  if (node.tls) node.tls = { ...node.tls, servername: undefined };
  return {
    redisOptions: node,
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    scaleReads: 'master',
    maxRedirections: 16,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    retryDelayOnMoved: 0,
    slotsRefreshTimeout: Math.min(settings.REDIS_TIMEOUT, 2_000),
    slotsRefreshInterval: 5_000,
    clusterRetryStrategy: reconnectDelay,
    // TLS checks the certificate against the name the nodes announce, not an IP from CLUSTER SLOTS.
    ...(settings.REDIS_SSL ? { dnsLookup: (address: string, callback: (error: Error | null, address: string) => void) => callback(null, address) } : {}),
  };
}

/**
 * A client for `palisade doctor`: the node's own options (TLS, ACL user, sentinels), but
 * it queues commands until connected and never retries — a doctor run fails fast.
 */
export function createDoctorClient(settings: Readonly<RedisSettings>, nodeName: string): Redis {
  // A cluster is examined node by node: the doctor starts from the first seed.
  const seed = settings.REDIS_CLUSTER ? clusterSeeds(settings)[0] : undefined;
  if (seed) settings = { ...settings, REDIS_HOST: seed.host, REDIS_PORT: seed.port, REDIS_CLUSTER: false };
  const client = new Redis({
    ...redisOptions(settings, nodeName, 'doctor', settings.REDIS_TIMEOUT),
    enableOfflineQueue: true,
    retryStrategy: () => null,
    sentinelRetryStrategy: () => null,
    failoverDetector: false,
  });
  client.on('error', () => undefined);
  return client;
}

/** A client to one sentinel (the doctor asks it about its peers); fails fast. */
export function createSentinelClient(settings: Readonly<RedisSettings>, address: { host: string; port: number }, nodeName: string): Redis {
  const client = new Redis({
    host: address.host,
    port: address.port,
    username: settings.REDIS_SENTINEL_USERNAME || undefined,
    password: settings.REDIS_SENTINEL_PASSWORD || undefined,
    connectionName: `palisade:${nodeName}:doctor`,
    connectTimeout: SENTINEL_TIMEOUT_MS,
    commandTimeout: SENTINEL_TIMEOUT_MS * 2,
    retryStrategy: () => null,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    tls: settings.REDIS_SSL ? tlsOptions(settings) : undefined,
  });
  client.on('error', () => undefined);
  return client;
}

/**
 * The ioredis options of one connection — the only place they are built. Request-path
 * connections never queue or retry (`enableOfflineQueue: false`, `maxRetriesPerRequest: 0`)
 * and time out after `commandTimeoutMs`; every connection reconnects in the background with
 * capped backoff and is named `palisade:<node>:<role>`.
 */
function redisOptions(settings: Readonly<RedisSettings>, nodeName: string, role: ConnectionRole, commandTimeoutMs: number | undefined): RedisOptions {
  const common: RedisOptions = {
    db: settings.REDIS_DATABASE,
    username: settings.REDIS_USERNAME || undefined,
    password: settings.REDIS_PASSWORD || undefined,
    connectionName: `palisade:${nodeName}:${role}`,
    keepAlive: settings.REDIS_KEEPALIVE_IDLE,
    noDelay: true,
    connectTimeout: settings.REDIS_TIMEOUT,
    commandTimeout: commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableReadyCheck: true,
    lazyConnect: true,
    retryStrategy: reconnectDelay,
    // A demoted master answers READONLY: drop the connection so it finds the new master.
    reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 1 : false),
    tls: tlsOptions(settings),
  };
  if (!usesSentinel(settings)) {
    return { ...common, host: settings.REDIS_HOST, port: settings.REDIS_PORT };
  }
  return {
    ...common,
    sentinels: settings.REDIS_SENTINEL_HOSTS.map((entry) => parseHostPort(entry, 26379)!),
    name: settings.REDIS_SENTINEL_MASTER,
    role: 'master',
    sentinelUsername: settings.REDIS_SENTINEL_USERNAME || undefined,
    sentinelPassword: settings.REDIS_SENTINEL_PASSWORD || undefined,
    // ioredis uses connectTimeout for each sentinel as well: keep it short so a dead
    // sentinel costs hundreds of ms, not seconds.
    connectTimeout: Math.min(settings.REDIS_TIMEOUT, SENTINEL_TIMEOUT_MS * 4),
    sentinelCommandTimeout: SENTINEL_TIMEOUT_MS,
    sentinelRetryStrategy: reconnectDelay,
    sentinelReconnectStrategy: reconnectDelay,
    failoverDetector: true,
    // One +switch-master subscription per connection is enough: a connection also drops
    // (and re-resolves) when its master goes away.
    sentinelMaxConnections: 1,
    enableTLSForSentinelMode: settings.REDIS_SSL,
    updateSentinels: true,
  };
}
