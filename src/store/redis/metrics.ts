import type { RedisConnections } from './connections.js';
import type { RedisKeys } from './keys.js';
import type { RemoteMetrics } from '../shared-backend.js';

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
    // One pipeline per key: in a cluster the node's hash and the node list live in different slots.
    const totals = client.pipeline();
    for (const [field, value] of deltas) totals.hincrby(key, field, value);
    totals.pexpire(key, METRICS_TTL_MS);
    const list = client.pipeline();
    list.zadd(this.keys.nodes, now, this.nodeName);
    list.zremrangebyscore(this.keys.nodes, '-inf', now - METRICS_TTL_MS);
    list.pexpire(this.keys.nodes, METRICS_TTL_MS);
    const results = (await Promise.all([totals.exec(), list.exec()])).flatMap((r) => r ?? []);
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
  }

  async totals(): Promise<Map<string, number>> {
    const client = this.connections.dedicatedClient('background');
    const nodes = await client.zrangebyscore(this.keys.nodes, Date.now() - METRICS_TTL_MS, '+inf');
    // One command per node's hash, all in flight at once (in a cluster they live on different masters).
    const hashes = await Promise.all(nodes.map((node) => client.hgetall(this.keys.metrics(node))));
    const sums = new Map<string, number>();
    for (const hash of hashes) {
      for (const [field, value] of Object.entries(hash)) sums.set(field, (sums.get(field) ?? 0) + Number(value));
    }
    return sums;
  }
}
