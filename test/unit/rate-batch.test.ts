import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
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
  // Turns are real (setImmediate); the hold timer only moves when a test says so.
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
  afterEach(() => vi.useRealTimers());

  it('sends the checks of one event-loop turn as one batch', async () => {
    const { send, batches, release } = controlledSend();
    const batcher = new RateBatcher(send);
    const checks = ['a', 'b', 'c'].map((key) => batcher.check(key, 1_000, 10));
    await nextTurn();
    expect(batches).toEqual([['a', 'b', 'c']]);
    release();
    expect(await Promise.all(checks)).toEqual([1, 1, 1].map((remaining) => ({ allowed: true, retryAfterMs: 0, remaining })));
  });

  it('without one batch in flight, sends each turn its own batch', async () => {
    const { send, batches } = controlledSend();
    const batcher = new RateBatcher(send);
    for (const key of ['a', 'b', 'c']) {
      void batcher.check(key, 1_000, 10);
      await nextTurn();
    }
    expect(batches).toEqual([['a'], ['b'], ['c']]);
  });

  it('with one batch in flight, holds the checks of later turns and sends them together when it is answered', async () => {
    const { send, batches, release } = controlledSend();
    const batcher = new RateBatcher(send, true);
    for (const key of ['a', 'b', 'c', 'd']) {
      void batcher.check(key, 1_000, 10);
      await nextTurn();
    }
    expect(batches).toEqual([['a']]);
    release();
    await nextTurn();
    await nextTurn();
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
  });

  it('does not hold a batch behind one that never answers (a failing master) past the hold time', async () => {
    const { send, batches } = controlledSend();
    const batcher = new RateBatcher(send, true);
    void batcher.check('slow', 1_000, 10);
    await nextTurn();
    void batcher.check('next', 1_000, 10);
    await nextTurn();
    expect(batches).toEqual([['slow']]);
    vi.advanceTimersByTime(5);
    expect(batches).toEqual([['slow'], ['next']]);
  });
});
