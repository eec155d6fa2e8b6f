import { afterEach } from 'vitest';

/**
 * A list for the nodes a test starts: every node pushed onto it is stopped after the test,
 * passed or failed, so no test inherits another's processes or Redis connections.
 */
export function stopAfterEach<T extends { stop(): Promise<unknown> }>(): T[] {
  const nodes: T[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((node) => node.stop()));
  });
  return nodes;
}
