import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { RateBatcher } from '../../src/store/redis/rate-batch.js';

/** A send that answers "allowed" for every key once `release()` is called, recording each batch. */
function controlledSend() {
  const batches: string[][] = [];
  const pending: Array<() => void> = [];
  const send = (keys: string[]): Promise<number[]> =>
    new Promise((resolve) => {
      batches.push(keys);
      pending.push(() => resolve(keys.map(() => 1)));
    });
  return { send, batches, release: () => pending.shift()?.() };
}

describe('RateBatcher', () => {
  it('sends the checks of one event-loop turn as one batch', async () => {
    const { send, batches, release } = controlledSend();
    const batcher = new RateBatcher(send);
    const checks = ['a', 'b', 'c'].map((key) => batcher.check(key, 1_000, 10));
    await nextTurn();
    expect(batches).toEqual([['a', 'b', 'c']]);
    release();
    expect(await Promise.all(checks)).toEqual([1, 1, 1].map((remaining) => ({ allowed: true, retryAfterMs: 0, remaining })));
  });

  it('with one batch in flight, holds the next turns\' checks and sends them together when it is answered', async () => {
    const { send, batches, release } = controlledSend();
    const batcher = new RateBatcher(send, true);
    void batcher.check('a', 1_000, 10);
    await nextTurn();
    const later = ['b', 'c', 'd'].map(async (key) => {
      await nextTurn();
      return batcher.check(key, 1_000, 10);
    });
    await nextTurn();
    await nextTurn();
    expect(batches).toEqual([['a']]);
    release();
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
    release();
    await Promise.all(later);
  });

  it('does not hold a batch behind one that never answers (a failing master)', async () => {
    const { send, batches } = controlledSend();
    const batcher = new RateBatcher(send, true);
    void batcher.check('slow', 1_000, 10);
    await nextTurn();
    void batcher.check('next', 1_000, 10);
    const started = Date.now();
    while (batches.length < 2 && Date.now() - started < 1_000) await new Promise((resolve) => setTimeout(resolve, 1));
    expect(batches).toEqual([['slow'], ['next']]);
  });
});
