import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RedisConnections } from './connections.js';
import type { ResyncCause } from './ban-sync.js';
import type { RedisInfoSnapshot } from './info.js';
import type { NodeReports } from './node-reports.js';

/** Records what the request path asks of Redis. */
export interface RedisMetrics {
  /** Observes one request-path command; `outcome` is ok, error or unavailable. */
  command(name: string, seconds: number, outcome: 'ok' | 'error' | 'unavailable'): void;
  /** Observes how long a ban change from another node took to reach this one. */
  propagated(seconds: number): void;
  /** Counts a full ban resync by its cause. */
  resynced(cause: ResyncCause): void;
}

/**
 * Registers the Redis backend's metrics. Gauges read the connections' state when scraped,
 * so nothing is updated per request except the command histogram.
 */
export function registerRedisMetrics(
  registry: Registry,
  connections: RedisConnections,
  info: () => RedisInfoSnapshot | undefined,
  nodes: () => NodeReports | undefined,
): RedisMetrics {
  const gauge = (name: string, help: string, read: () => number | undefined): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const value = read();
        if (value !== undefined) this.set(value);
        else this.reset();
      },
    });
  };
  gauge('palisade_redis_up', '1 when a pool connection to Redis is ready, the breaker is closed and Redis takes writes.', () =>
    connections.health().up ? 1 : 0,
  );
  gauge('palisade_store_degraded', '1 when shared state is unusable and the node runs on local state.', () => (connections.health().up ? 0 : 1));
  gauge('palisade_redis_breaker_open', '1 while the circuit breaker keeps requests off Redis.', () => (connections.health().breakerOpen ? 1 : 0));
  gauge('palisade_redis_pool_connections', 'Ready connections in the request-path pool.', () => connections.health().poolReady);
  gauge('palisade_redis_pool_size', 'Configured size of the request-path pool (REDIS_KEEPALIVE_POOL).', () => connections.health().poolSize);
  gauge('palisade_redis_used_memory_bytes', 'Redis used_memory, from INFO.', () => info()?.usedMemoryBytes);
  gauge('palisade_redis_connected_clients', 'Redis connected_clients, from INFO.', () => info()?.connectedClients);
  gauge('palisade_redis_keyspace_hit_ratio', 'keyspace_hits / (hits + misses), from INFO.', () => info()?.keyspaceHitRatio);
  gauge('palisade_redis_connected_replicas', 'Replicas connected to the master, from INFO.', () => info()?.connectedReplicas);
  gauge('palisade_redis_replication_lag_seconds', 'Largest replica lag the master reports, from INFO.', () => info()?.replicationLagSeconds);
  gauge('palisade_cluster_nodes', "Nodes whose heartbeat is fresh (within three beats), as of this node's last beat.", () => nodes()?.liveNodes);
  gauge(
    'palisade_cluster_nodes_diverged',
    "Live nodes that found their bans different from Redis's and have not repaired them yet.",
    () => nodes()?.divergedNodes,
  );
  gauge(
    'palisade_cluster_nodes_differing',
    "Live nodes whose rules (the WAF's compiled rules, by hash) differ from most live nodes'.",
    () => nodes()?.differingNodes,
  );
  const resyncs = new Counter({
    name: 'palisade_ban_resyncs_total',
    help: 'Full ban resyncs with Redis, by cause: start, master (changed), epoch (Redis lost its state), trimmed (stream), digest (this node had diverged).',
    labelNames: ['cause'] as const,
    registers: [registry],
  });
  const failovers = new Counter({
    name: 'palisade_redis_failovers_total',
    help: 'Times the pool found a different server behind it (failover or address change).',
    registers: [registry],
  });
  connections.on('master', (_address, previous) => {
    if (previous !== undefined) failovers.inc();
  });
  const duration = new Histogram({
    name: 'palisade_redis_command_duration_seconds',
    help: 'Request-path Redis commands, by command and outcome.',
    labelNames: ['command', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [registry],
  });
  const propagation = new Histogram({
    name: 'palisade_ban_propagation_seconds',
    help: "From a ban change's write to Redis on another node to its enforcement here, on Redis's clock.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    command(name, seconds, outcome) {
      duration.labels(name, outcome).observe(seconds);
    },
    propagated(seconds) {
      propagation.observe(seconds);
    },
    resynced(cause) {
      resyncs.labels(cause).inc();
    },
  };
}
