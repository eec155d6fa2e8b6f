import type { ClusterStore } from '../../src/store/types.js';

/**
 * Bans addresses `<prefix>.<n>.<m>` from `node` one after the other, 20 ms apart (a steady
 * writer, not a burst), while `during` runs (at least 20 of them); resolves with every target
 * once `during` settled. `during` gets `written(n)`, which resolves once `n` bans are written:
 * to break something while the writer is under way.
 */
export async function banWhile(
  node: { store: ClusterStore },
  prefix: string,
  during: (written: (n: number) => Promise<void>) => Promise<unknown>,
  reason = 'failover',
): Promise<string[]> {
  const targets: string[] = [];
  const waiting: Array<{ n: number; resolve: () => void }> = [];
  const written = (n: number): Promise<void> => (targets.length >= n ? Promise.resolve() : new Promise((resolve) => waiting.push({ n, resolve })));
  let done = false;
  const running = during(written);
  void running.finally(() => (done = true)).catch(() => undefined);
  for (let i = 0; !done || i < 20; i++) {
    const target = `${prefix}.${Math.floor(i / 250)}.${i % 250}`;
    await node.store.bans.add({ target, reason, origin: 'api', durationMs: 3_600_000 });
    targets.push(target);
    for (const w of waiting.filter((w) => targets.length >= w.n)) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve();
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await running;
  return targets;
}
