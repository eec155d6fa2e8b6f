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

  it('sends the operations of one event-loop turn as one batch', async () => {
    const { send, batches, release } = controlledSend();
    const batcher = new RateBatcher(send);
    const leases = ['a', 'b', 'c'].map((key) => batcher.lease(key, 1_000, 10, 1));
    await nextTurn();
    expect(batches).toEqual([['a', 'b', 'c']]);
    release();
    expect(await Promise.all(leases)).toEqual([1, 1, 1]);
  });

  it('sends each kind of operation once, then the kind of each key, and the most sites asked with', async () => {
    const sent: Array<[string[], number[]]> = [];
    const batcher = new RateBatcher(async (keys, args) => (sent.push([keys, args]), keys.map(() => 1)));
    await Promise.all([batcher.lease('a', 1_000, 10, 2), batcher.lease('b', 1_000, 10, 2)]);
    // One kind: no per-key arguments at all.
    expect(sent[0]).toEqual([
      ['a', 'b'],
      [2, 1, 1_000, 10, 0],
    ]);
    await Promise.all([
      batcher.lease('a', 1_000, 10, 4),
      batcher.giveBack('b', 1_000, 10, 3),
      batcher.lease('c', 60_000, 5, 4),
      batcher.lease('d', 1_000, 10, 4),
    ]);
    expect(sent[1]).toEqual([
      ['a', 'b', 'c', 'd'],
      [4, 3, 1_000, 10, 0, 1_000, 10, 3, 60_000, 5, 0, 1, 2, 3, 1],
    ]);
  });

  it('without one batch in flight, sends each turn its own batch', async () => {
    const { send, batches } = controlledSend();
    const batcher = new RateBatcher(send);
    for (const key of ['a', 'b', 'c']) {
      void batcher.lease(key, 1_000, 10, 1);
      await nextTurn();
    }
    expect(batches).toEqual([['a'], ['b'], ['c']]);
  });

  it('with one batch in flight, holds the operations of later turns and sends them together when it is answered', async () => {
    const { send, batches, release } = controlledSend();
    const batcher = new RateBatcher(send, true);
    for (const key of ['a', 'b', 'c', 'd']) {
      void batcher.lease(key, 1_000, 10, 1);
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
    void batcher.lease('slow', 1_000, 10, 1);
    await nextTurn();
    void batcher.lease('next', 1_000, 10, 1);
    await nextTurn();
    expect(batches).toEqual([['slow']]);
    vi.advanceTimersByTime(5);
    expect(batches).toEqual([['slow'], ['next']]);
  });
});
