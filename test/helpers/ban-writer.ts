import type { ClusterStore } from '../../src/store/types.js';

/**
 * Bans addresses `<prefix>.<n>.<m>` from `node` one after the other, 20 ms apart, while
 * `during` runs (at least 20 of them); resolves with every target once `during` settled.
 */
export async function banWhile(node: { store: ClusterStore }, prefix: string, during: Promise<unknown>, reason = 'failover'): Promise<string[]> {
  const targets: string[] = [];
  let done = false;
  void during.finally(() => (done = true));
  for (let i = 0; !done || i < 20; i++) {
    const target = `${prefix}.${Math.floor(i / 250)}.${i % 250}`;
    await node.store.bans.add({ target, reason, origin: 'api', durationMs: 3_600_000 });
    targets.push(target);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await during;
  return targets;
}
