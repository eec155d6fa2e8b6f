import { startInProcessNode, type InProcessNode } from './in-process.js';
import { waitFor } from './wait.js';

/**
 * Settings of one node of a test cluster: named `name`, proxying to `upstream`, sharing the
 * Redis on `redisPort`, and trusting 127.0.0.1 (the test itself) to name the client in
 * X-Forwarded-For, so a test can speak as any client IP. `extra` adds or overrides.
 */
export function clusterNodeEnv(name: string, upstream: string, redisPort: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_NAME: name,
    REVERSE_PROXY_HOST: upstream,
    USE_REAL_IP: 'yes',
    REAL_IP_FROM: '127.0.0.1',
    USE_REDIS: 'yes',
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(redisPort),
    ...extra,
  };
}

/** True once `node` logged its first ban resync with Redis. */
export function hasSynced(node: { lines: Array<Record<string, unknown>> }): boolean {
  return node.lines.some((line) => line.msg === 'bans resynced with Redis');
}

/** Starts in-process nodes named `names` (see {@link clusterNodeEnv}) and waits until all have synced. */
export async function startInProcessCluster(names: string[], upstream: string, redisPort: number, extra: Record<string, string> = {}): Promise<InProcessNode[]> {
  const nodes: InProcessNode[] = [];
  for (const name of names) nodes.push(await startInProcessNode(clusterNodeEnv(name, upstream, redisPort, extra)));
  await waitFor(() => nodes.every(hasSynced), 'every node to sync with Redis');
  return nodes;
}
