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

/**
 * True once `node` says on `/readyz` that it is ready on the shared store: it holds the shared
 * ban set (without a snapshot, a node is ready only once its first resync with Redis loaded it).
 */
export async function readyOnSharedStore(node: { adminUrl: string }): Promise<boolean> {
  const body = (await (await fetch(`${node.adminUrl}/readyz`)).json()) as { status: string; store: string };
  return body.status === 'ready' && body.store === 'shared';
}

/** Starts in-process nodes named `names` (see {@link clusterNodeEnv}) and waits until all have synced. */
export async function startInProcessCluster(
  names: string[],
  upstream: string,
  redisPort: number,
  extra: Record<string, string> = {},
): Promise<InProcessNode[]> {
  const nodes: InProcessNode[] = [];
  for (const name of names) nodes.push(await startInProcessNode(clusterNodeEnv(name, upstream, redisPort, extra)));
  await waitFor(async () => (await Promise.all(nodes.map(readyOnSharedStore))).every(Boolean), 'every node ready on the shared store (/readyz)');
  return nodes;
}
