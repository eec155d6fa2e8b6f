import { describe, expect, it } from 'vitest';
import { Counters } from '../../src/store/counters.js';
import type { DegradedRate } from '../../src/store/types.js';
import type { RemoteCounters } from '../../src/store/shared-backend.js';

/** A shared backend that can be switched off, recording what it is charged. */
function switchableRemote() {
  const charged: Array<[string, number, number]> = [];
  const increments: Array<[string, number]> = [];
  const state = { up: true };
  const fail = (): never => {
    throw Object.assign(new Error('redis is away'), { unsent: true });
  };
  const remote: RemoteCounters = {
    lease: async () => (state.up ? { hits: 1, retryAfterMs: 0 } : fail()),
    giveBack: async () => undefined,
    increment: async (path, _windowMs, by) => (state.up ? (increments.push([path, by]), by) : fail()),
    reset: async () => undefined,
    charge: async (path, periodMs, debtMs) => (state.up ? void charged.push([path, periodMs, debtMs]) : fail()),
  };
  return { remote, charged, increments, state };
}

const key = { plugin: 'limit', rule: '0', client: '203.0.113.9' };

async function allowedOf(counters: Counters, mode: DegradedRate, hits: number): Promise<number> {
  let allowed = 0;
  for (let i = 0; i < hits; i++) if ((await counters.check(key, 30, 60_000, mode)).allowed) allowed++;
  return allowed;
}

describe('rate limits while the shared counters are unusable', () => {
  it('share allows ceil(limit / live nodes) on this node; local the whole limit; open everything; closed nothing', async () => {
    for (const [mode, expected] of [
      ['share', 10],
      ['local', 30],
      ['open', 90],
      ['closed', 0],
    ] as const) {
      const { remote, state } = switchableRemote();
      state.up = false;
      const now = 1_000_000;
      const counters = new Counters(
        () => remote,
        () => now,
        1_000,
        { liveNodes: () => 3 },
      );
      expect(await allowedOf(counters, mode, 90), mode).toBe(expected);
    }
    // 4 live nodes: ceil(30 / 4) = 8.
    const { remote, state } = switchableRemote();
    state.up = false;
    expect(
      await allowedOf(
        new Counters(
          () => remote,
          () => 1_000_000,
          1_000,
          { liveNodes: () => 4 },
        ),
        'share',
        90,
      ),
    ).toBe(8);
  });

  it('charges what it allowed alone, in the shared rate, before the client is judged by the shared counter again', async () => {
    const { remote, state, charged } = switchableRemote();
    let now = 1_000_000;
    const counters = new Counters(
      () => remote,
      () => now,
      1_000,
      { liveNodes: () => 3 },
    );
    state.up = false;
    expect(await allowedOf(counters, 'share', 20)).toBe(10);
    now += 6_000; // one hit of the node's share (10/min) given back by time
    state.up = true;
    await counters.check(key, 30, 60_000, 'share');
    // 9 hits of its share still ahead = 9 × 2 s in the shared 30/min.
    expect(charged).toEqual([['limit:0:203.0.113.9', 60_000, 18_000]]);
    // Charged once.
    await counters.check(key, 30, 60_000, 'share');
    expect(charged).toHaveLength(1);
  });

  it('adds window counts made alone to the shared counter, by the next increment or by settle', async () => {
    const { remote, state, increments, charged } = switchableRemote();
    let now = 1_000_000;
    const counters = new Counters(
      () => remote,
      () => now,
      1_000,
      { liveNodes: () => 2 },
    );
    state.up = false;
    const offences = { plugin: 'bad-behavior', rule: 'offences', client: '198.51.100.1' };
    const other = { plugin: 'bad-behavior', rule: 'offences', client: '198.51.100.2' };
    for (let i = 0; i < 3; i++) await counters.increment(offences, 60_000);
    await counters.increment(other, 60_000);
    expect(await allowedOf(counters, 'local', 5)).toBe(5);
    state.up = true;
    expect(await counters.increment(offences, 60_000)).toBe(4);
    now += 1_000;
    await counters.settle();
    expect(increments).toEqual([
      ['bad-behavior:offences:198.51.100.1', 4],
      ['bad-behavior:offences:198.51.100.2', 1],
    ]);
    expect(charged).toHaveLength(1);
    // Nothing left to settle.
    await counters.settle();
    expect(increments).toHaveLength(2);
  });

  it('owes nothing for a call that may have reached the shared counters (a timeout)', async () => {
    const charged: unknown[] = [];
    const remote: RemoteCounters = {
      lease: async () => {
        throw new Error('Command timed out');
      },
      giveBack: async () => undefined,
      increment: async () => 0,
      reset: async () => undefined,
      charge: async (...args) => void charged.push(args),
    };
    const counters = new Counters(
      () => remote,
      () => 1_000_000,
      1_000,
      { liveNodes: () => 1 },
    );
    expect(await allowedOf(counters, 'share', 3)).toBe(3);
    await counters.settle();
    expect(charged).toEqual([]);
  });

  it('keeps the debt while the shared counters still fail', async () => {
    const { remote, state, charged } = switchableRemote();
    const counters = new Counters(
      () => remote,
      () => 1_000_000,
      1_000,
      { liveNodes: () => 1 },
    );
    state.up = false;
    expect(await allowedOf(counters, 'share', 3)).toBe(3);
    await counters.settle();
    state.up = true;
    await counters.settle();
    expect(charged).toEqual([['limit:0:203.0.113.9', 60_000, 6_000]]);
  });
});
