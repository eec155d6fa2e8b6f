import type { RemoteMetrics } from '../metrics.js';
import type { RedisConnections } from './connections.js';
import type { RedisKeys } from './keys.js';

/** How long a node's totals outlive its last push; the node list keeps the same horizon. */
export const METRICS_TTL_MS = 3_600_000;

/**
 * Cluster counters in Redis: each node adds its deltas to its own hash (`HINCRBY`, node name
 * in the key, TTL'd) and registers in the node list; totals are the sum over the nodes seen
 * within the TTL. Runs on the background connection, never on the request path.
 */
export class RedisMetrics implements RemoteMetrics {
  constructor(
    private readonly connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly nodeName: string,
  ) {}

  async push(deltas: ReadonlyMap<string, number>): Promise<void> {
    const client = this.connections.dedicatedClient('background');
    const key = this.keys.metrics(this.nodeName);
    const now = Date.now();
    const pipeline = client.pipeline();
    for (const [field, value] of deltas) pipeline.hincrby(key, field, value);
    pipeline.pexpire(key, METRICS_TTL_MS);
    pipeline.zadd(this.keys.nodes, now, this.nodeName);
    pipeline.zremrangebyscore(this.keys.nodes, '-inf', now - METRICS_TTL_MS);
    pipeline.pexpire(this.keys.nodes, METRICS_TTL_MS);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
  }

  async totals(): Promise<Map<string, number>> {
    const client = this.connections.dedicatedClient('background');
    const nodes = await client.zrangebyscore(this.keys.nodes, Date.now() - METRICS_TTL_MS, '+inf');
    const pipeline = client.pipeline();
    for (const node of nodes) pipeline.hgetall(this.keys.metrics(node));
    const sums = new Map<string, number>();
    for (const [error, hash] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      for (const [field, value] of Object.entries(hash as Record<string, string>)) sums.set(field, (sums.get(field) ?? 0) + Number(value));
    }
    return sums;
  }
}
