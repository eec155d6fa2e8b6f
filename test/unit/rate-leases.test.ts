import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { Counters } from '../../src/store/counters.js';
import { LEASE_MS, gcraGiveBack, gcraGrant } from '../../src/store/rate-lease.js';
import type { LeaseGrant, RemoteCounters } from '../../src/store/shared-backend.js';
import type { DegradedRate } from '../../src/store/types.js';

const key = (client: string) => ({ plugin: 'limit', rule: '0', client });

/** A node's counters with no shared backend, serving `workers` sites, and what they were asked. */
function authority(now: () => number, workers: number) {
  const node = new Counters(() => undefined, now, 1_000, { workers: () => workers });
  const calls = { lease: 0, giveBack: 0, returned: 0 };
  const remote: RemoteCounters = {
    lease: async (...args) => (calls.lease++, node.remote.lease(...args)),
    giveBack: async (path, limit, periodMs, hits, epoch) => {
      calls.giveBack++;
      calls.returned += hits;
      await node.remote.giveBack(path, limit, periodMs, hits, epoch);
    },
    increment: async (...args) => node.remote.increment(...args),
    reset: async (path) => node.remote.reset(path),
  };
  return { node, remote, calls };
}

/** A worker's counters: its authority the node's. */
function site(remote: RemoteCounters, now: () => number): Counters {
  return new Counters(() => remote, now, 1_000);
}

describe('a grant on a bucket', () => {
  it('is a share of what is left over the sites, at least one hit, down to none past the limit', () => {
    const grants: number[] = [];
    let tat = 0;
    for (;;) {
      const grant = gcraGrant(tat, 10, 60_000, 1_000, 4);
      if (grant.hits === 0) {
        // The next hit fits once one interval (6 s) of the bucket has passed.
        expect(grant.retryAfterMs).toBe(6_000);
        break;
      }
      grants.push(grant.hits);
      tat = grant.tat;
    }
    expect(grants).toEqual([2, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(grants.reduce((a, b) => a + b)).toBe(10);
    // One site alone takes half of what is left; Infinity sites take one hit (the exact check).
    expect(gcraGrant(0, 100, 1_000, 5, 1).hits).toBe(50);
    expect(gcraGrant(0, 100, 1_000, 5, Infinity).hits).toBe(1);
  });

  it('takes hits back without making the bucket fuller than full', () => {
    const { tat } = gcraGrant(0, 10, 10_000, 0, 1);
    expect(tat).toBe(5_000);
    expect(gcraGiveBack(tat, 10, 10_000, 2, 0)).toBe(3_000);
    expect(gcraGiveBack(tat, 10, 10_000, 9, 0)).toBe(0);
    expect(gcraGiveBack(tat, 10, 10_000, 2, 4_500)).toBe(4_500);
  });
});

describe('checks decided from leases', () => {
  it('never allows more than the limit over sites taking turns, and at least all but a lease', async () => {
    for (const sites of [2, 4]) {
      const now = 1_000_000;
      const { remote } = authority(() => now, sites);
      const workers = Array.from({ length: sites }, () => site(remote, () => now));
      let allowed = 0;
      for (let i = 0; i < 40; i++) if ((await workers[i % sites]!.check(key('203.0.113.1'), 10, 60_000)).allowed) allowed++;
      expect(allowed, `${sites} sites`).toBeLessThanOrEqual(10);
      expect(allowed, `${sites} sites`).toBeGreaterThanOrEqual(9);
    }
  });

  it('asks once per lease far below the limit, and not at all for a client known to be over it', async () => {
    let now = 1_000_000;
    const { remote, calls } = authority(() => now, 2);
    const [one, two] = [site(remote, () => now), site(remote, () => now)];
    for (let i = 0; i < 100; i++) expect((await (i % 2 ? one : two)!.check(key('198.51.100.1'), 1_000, 60_000)).allowed).toBe(true);
    // A third of 1,000 to the first, a third of the rest to the second: each holds enough.
    expect(calls.lease).toBe(2);
    expect(one.leaseCounts).toEqual({ granted: 1, exhausted: 0, returned: 0, refused: 0 });

    // Over the limit: refused once by the authority, then by the site's own memory.
    for (let i = 0; i < 5; i++) await one.check(key('198.51.100.2'), 1, 60_000);
    expect(calls.lease).toBe(4);
    expect(one.leaseCounts.refused).toBe(1);
    now += 60_000;
    expect((await one.check(key('198.51.100.2'), 1, 60_000)).allowed).toBe(true);
  });

  it('gives back what a lease did not spend once its time is up, and the hits are there for the next site', async () => {
    let now = 1_000_000;
    const { remote, calls } = authority(() => now, 2);
    const [one, two] = [site(remote, () => now), site(remote, () => now)];
    // Limit 12 per hour: the first site takes 4 (a third), spends 1.
    expect((await one.check(key('192.0.2.7'), 12, 3_600_000)).allowed).toBe(true);
    expect((await one.check(key('192.0.2.7'), 12, 3_600_000)).remaining).toBe(2);
    now += LEASE_MS;
    // Its lease is over: the next check gives 2 back before asking again.
    await one.check(key('192.0.2.7'), 12, 3_600_000);
    expect(calls.returned).toBe(2);
    expect(one.leaseCounts.returned).toBe(1);
    // Its new lease: a third of the 10 left, 1 spent. The other site gets the 7 nobody holds.
    let allowed = 0;
    for (let i = 0; i < 20; i++) if ((await two.check(key('192.0.2.7'), 12, 3_600_000)).allowed) allowed++;
    expect(allowed).toBe(7);
    // Once the first site's lease ends its 2 come back, and it spends them: the whole limit, to the hit.
    now += LEASE_MS;
    expect((await one.check(key('192.0.2.7'), 12, 3_600_000)).allowed).toBe(true);
    expect(calls.returned).toBe(4);
    expect((await one.check(key('192.0.2.7'), 12, 3_600_000)).allowed).toBe(true);
    expect((await one.check(key('192.0.2.7'), 12, 3_600_000)).allowed).toBe(false);
  });

  it('hands the hits a lease gave back to the site the client comes to, though that site was refused before', async () => {
    // The sweep that ends leases nobody uses runs on a timer.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    onTestFinished(() => void vi.useRealTimers());
    let now = 1_000_000;
    const { remote, calls } = authority(() => now, 2);
    const [one, two] = [site(remote, () => now), site(remote, () => now)];
    // Limit 12 per hour: the first site takes 4 and spends 1; the client then only reaches the second.
    expect((await one.check(key('192.0.2.9'), 12, 3_600_000)).allowed).toBe(true);
    let allowed = 1;
    for (let i = 0; i < 10; i++) if ((await two.check(key('192.0.2.9'), 12, 3_600_000)).allowed) allowed++;
    expect(allowed).toBe(9);
    const refused = await two.check(key('192.0.2.9'), 12, 3_600_000);
    // Told when the bucket refills (5 min), though the site asks again sooner.
    expect(refused.retryAfterMs).toBeGreaterThan(LEASE_MS);
    const asked = calls.lease;
    // The first site's 3 come back when its lease is swept, and the second site, asking again
    // after a lease's time, hands them out: the client gets its whole limit.
    now += LEASE_MS;
    await vi.advanceTimersByTimeAsync(LEASE_MS);
    expect(calls.returned).toBe(3);
    for (let i = 0; i < 5; i++) if ((await two.check(key('192.0.2.9'), 12, 3_600_000)).allowed) allowed++;
    expect(allowed).toBe(12);
    expect(calls.lease).toBeGreaterThan(asked);
  });

  it('answers the checks of one client that arrive together from one lease', async () => {
    const now = 1_000_000;
    const { remote, calls } = authority(() => now, 1);
    const worker = site(remote, () => now);
    const decisions = await Promise.all(Array.from({ length: 8 }, () => worker.check(key('192.0.2.8'), 100, 60_000)));
    expect(decisions.every((d) => d.allowed)).toBe(true);
    expect(calls.lease).toBe(1);
  });
});

describe('leases while Redis is unusable', () => {
  /** A Redis-like authority holding one bucket per path, that can be switched off. */
  function sharedAuthority(now: () => number) {
    const shared = new Counters(() => undefined, now, 1_000);
    const state = { up: true };
    const fail = (): never => {
      throw Object.assign(new Error('redis is away'), { unsent: true });
    };
    const remote: RemoteCounters = {
      lease: async (path, limit, periodMs, degraded, sites): Promise<LeaseGrant> =>
        state.up ? { ...(shared.remote.lease(path, limit, periodMs, degraded, sites) as LeaseGrant), epoch: 1 } : fail(),
      giveBack: async () => undefined,
      increment: async () => 0,
      reset: async () => undefined,
      charge: async () => (state.up ? undefined : fail()),
    };
    return { remote, state };
  }

  it('with share, a node allows its share less what it already took from Redis in the period', async () => {
    const now = 1_000_000;
    const { remote, state } = sharedAuthority(() => now);
    // Two nodes, no workers: each its own site; limit 10, their share 5 each.
    const [a, b] = [0, 1].map(
      () =>
        new Counters(
          () => remote,
          () => now,
          1_000,
          { liveNodes: () => 2 },
        ),
    );
    const mode: DegradedRate = 'share';
    let allowed = 0;
    for (let i = 0; i < 6; i++) if ((await (i % 2 ? a : b)!.check(key('203.0.113.50'), 10, 3_600_000, mode)).allowed) allowed++;
    expect(allowed).toBe(6);
    state.up = false;
    for (let i = 0; i < 10; i++) if ((await (i % 2 ? a : b)!.check(key('203.0.113.50'), 10, 3_600_000, mode)).allowed) allowed++;
    expect(allowed).toBeLessThanOrEqual(10);
    expect(allowed).toBeGreaterThanOrEqual(9);
  });

  it("grants a worker its share of the node's share, alone, and owes it whole (never given back)", async () => {
    const now = 1_000_000;
    const { remote, state } = sharedAuthority(() => now);
    state.up = false;
    const node = new Counters(
      () => remote,
      () => now,
      1_000,
      { liveNodes: () => 2, workers: () => 2 },
    );
    const grant = (await node.remote.lease('limit:0:203.0.113.60', 30, 60_000, 'share', 1)) as LeaseGrant;
    // ceil(30 / 2) = 15 for the node, a third of it to the asking worker.
    expect(grant).toEqual({ hits: 5, retryAfterMs: 0, alone: true });
  });
});
