import { describe, expect, it } from 'vitest';
import type { ClusterStore } from '../../src/store/types.js';
import { waitFor } from './wait.js';
import type { RateDecision } from '../../src/store/types.js';

/** What a backend under test provides: one store, or two that share state. */
export interface ContractSubject {
  one: ClusterStore;
  /** A second node's store sharing state with `one`, when the backend shares. */
  other?: ClusterStore;
  /** False for a node whose Redis is down: no lease is granted rather than two holders. */
  locksGranted?: boolean;
  /** Pushes buffered metric deltas of every store now. */
  flushMetrics(): Promise<void>;
}

let sessionSequence = 0;
const freshSessionId = (): string => `contract-session-${Date.now()}-${++sessionSequence}`;

let sequence = 0;
/** A fresh client address per case, so cases never see each other's state. */
const freshIp = (): string => `198.18.${Math.floor(++sequence / 250) % 250}.${(sequence % 250) + 1}`;

/**
 * The store contract: every backend (local, Redis standalone, Redis behind Sentinel, and
 * the local fallback of a node whose Redis is down) must pass the same cases.
 */
export function describeStoreContract(name: string, subject: () => ContractSubject, options: { shared: boolean }): void {
  describe(`store contract: ${name}`, () => {
    it('bans: add, match, get, list, remove; networks cover their addresses', async () => {
      const { one } = subject();
      const ip = freshIp();
      expect(one.bans.match(ip)).toBeUndefined();
      const ban = await one.bans.add({ target: ip, reason: 'contract', origin: 'api', actor: 'tester', durationMs: 60_000 });
      expect(ban).toMatchObject({ target: ip, reason: 'contract', origin: 'api', actor: 'tester' });
      expect(ban.expiresAt! - ban.createdAt).toBe(60_000);
      // A worker's store holds entries, not records: both kinds agree on what is enforced.
      expect(one.bans.match(ip)).toMatchObject({ target: ban.target, expiresAt: ban.expiresAt });
      expect(one.bans.get(ip)).toMatchObject({ target: ban.target, expiresAt: ban.expiresAt });
      expect(one.bans.count()).toBeGreaterThan(0);
      expect(await one.bans.remove(ip, 'tester')).toBe(true);
      expect(one.bans.match(ip)).toBeUndefined();
      expect(await one.bans.remove(ip, 'tester')).toBe(false);
      await one.bans.add({ target: '2001:db8:77::/48', reason: 'net', origin: 'api', durationMs: 0 });
      expect(one.bans.match('2001:db8:77:1::9')?.expiresAt).toBeNull();
      expect(await one.bans.remove('2001:db8:77::/48', 'tester')).toBe(true);
    });

    it('bans: refuse a malformed target and let an expired ban go', async () => {
      const { one } = subject();
      await expect(one.bans.add({ target: '10.0.0.0/33', reason: 'x', origin: 'api', durationMs: 1 })).rejects.toMatchObject({ code: 'PAL_BAN_INVALID' });
      await expect(one.bans.add({ target: '127.0.0.1', reason: 'x', origin: 'api', durationMs: 1 })).rejects.toMatchObject({ code: 'PAL_BAN_PROTECTED' });
      const ip = freshIp();
      await one.bans.add({ target: ip, reason: 'short', origin: 'api', durationMs: 150 });
      expect(one.bans.match(ip)).toBeDefined();
      await waitFor(() => one.bans.match(ip) === undefined, 'the ban to expire', 3_000);
      expect(one.bans.get(ip)).toBeUndefined();
    });

    it('counters: rate allows the limit, then refuses with a retry time; clients and resets are separate', async () => {
      const { one } = subject();
      const key = { plugin: 'contract', rule: 'rate', client: freshIp() };
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push(await one.counters.rate(key, 3, 60_000));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
      // What is left that this process knows of: never more than is left.
      decisions.forEach((d, i) => expect(d.remaining).toBeLessThanOrEqual(Math.max(0, 2 - i)));
      expect(decisions[3]!.retryAfterMs).toBeGreaterThan(15_000);
      expect((await one.counters.rate({ ...key, client: freshIp() }, 3, 60_000)).allowed).toBe(true);
      await one.counters.reset(key);
      expect((await one.counters.rate(key, 3, 60_000)).allowed).toBe(true);
    });

    it('counters: check decides like rate, at once when no round trip is needed', async () => {
      const { one } = subject();
      const key = { plugin: 'contract', rule: 'check', client: freshIp() };
      const decisions = [];
      for (let i = 0; i < 3; i++) decisions.push(await one.counters.check(key, 2, 60_000));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, false]);
      // A client known to be over its limit is answered from memory, whatever the store.
      const known = one.counters.check(key, 2, 60_000);
      expect(known).not.toBeInstanceOf(Promise);
      expect((known as RateDecision).allowed).toBe(false);
    });

    it('counters: a sliding window counts hits; one IPv6 /64 is one client', async () => {
      const { one } = subject();
      // Fresh per case: several subjects may share one Redis.
      const net = (++sequence).toString(16);
      const key = { plugin: 'contract', rule: 'window', client: `2001:db8:${net}:6::1` };
      expect(await one.counters.increment(key, 60_000)).toBe(1);
      expect(await one.counters.increment({ ...key, client: `2001:db8:${net}:6:ffff::2` }, 60_000)).toBe(2);
      expect(await one.counters.increment(key, 60_000, 3)).toBe(5);
      await one.counters.reset(key);
      expect(await one.counters.increment(key, 60_000)).toBe(1);
      expect(await one.counters.increment({ plugin: 'contract', rule: 'window', client: `/some/path?x=${net}` }, 60_000)).toBe(1);
    });

    it('locks: one holder at a time, released on demand', async () => {
      const { one, other, locksGranted = true } = subject();
      const lockName = `contract-${++sequence}`;
      const lease = await one.locks.acquire(lockName, 10_000);
      if (!locksGranted) {
        expect(lease).toBeUndefined();
        return;
      }
      expect(lease).toBeDefined();
      expect(await (other ?? one).locks.acquire(lockName, 10_000)).toBeUndefined();
      await lease!.release();
      const again = await (other ?? one).locks.acquire(lockName, 10_000);
      expect(again).toBeDefined();
      await again!.release();
    });

    it('sessions: stored, read, touched and destroyed; gone after the absolute deadline', async () => {
      const { one } = subject();
      const id = freshSessionId();
      const now = Date.now();
      await one.sessions.set(id, { data: { user: 'u1' }, createdAt: now, absoluteExpiresAt: now + 60_000 }, 30_000);
      expect((await one.sessions.get(id, 30_000))?.data).toEqual({ user: 'u1' });
      await one.sessions.destroy(id);
      expect(await one.sessions.get(id)).toBeUndefined();
      expect(await one.sessions.get('bad id with spaces')).toBeUndefined();
      const short = freshSessionId();
      await one.sessions.set(short, { data: {}, createdAt: now, absoluteExpiresAt: Date.now() + 150 }, 30_000);
      expect(await one.sessions.get(short)).toBeDefined();
      await waitFor(async () => (await one.sessions.get(short, 30_000)) === undefined, 'the absolute deadline', 3_000);
    });

    it('metrics: counters add up in the snapshot', async () => {
      const { one, other, flushMetrics } = subject();
      const label = `c${++sequence}`;
      one.metrics.add('contract_total', { case: label }, 2);
      (other ?? one).metrics.add('contract_total', { case: label }, 3);
      await flushMetrics();
      const series = await waitFor(
        async () => (await one.metrics.snapshot()).find((s) => s.name === 'contract_total' && s.labels.case === label && s.value === 5),
        'the summed series',
        5_000,
      );
      expect(series).toEqual({ name: 'contract_total', labels: { case: label }, value: 5 });
    });

    if (!options.shared) return;
    it('shared backends: a ban and a rate limit hold across nodes', async () => {
      const { one, other } = subject();
      if (!other) throw new Error('a shared subject needs two stores');
      const ip = freshIp();
      await one.bans.add({ target: ip, reason: 'shared', origin: 'api', durationMs: 60_000 });
      await waitFor(() => other.bans.match(ip), 'the ban on the other node', 5_000, 5);
      await other.bans.remove(ip, 'tester');
      await waitFor(() => one.bans.match(ip) === undefined, 'the unban on the first node', 5_000, 5);
      const key = { plugin: 'contract', rule: 'shared', client: freshIp() };
      const allowed = [];
      for (let i = 0; i < 6; i++) allowed.push((await (i % 2 === 0 ? one : other).counters.rate(key, 4, 60_000)).allowed);
      expect(allowed).toEqual([true, true, true, true, false, false]);
      const id = freshSessionId();
      await one.sessions.set(id, { data: { solved: true }, createdAt: Date.now(), absoluteExpiresAt: Date.now() + 60_000 }, 60_000);
      expect((await other.sessions.get(id))?.data).toEqual({ solved: true });
    });
  });
}
