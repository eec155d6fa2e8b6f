import type { LRUCache } from 'lru-cache';
import { growingLru } from './growing-lru.js';
import type { Served } from './served.js';
import { counterPath, type CounterKey } from './counter-keys.js';
import { LEASE_MS, gcraAnswer, gcraGiveBack, gcraGrant } from './rate-lease.js';
import type { RateDecision, DegradedRate, CounterFacet } from './types.js';
import type { LeaseGrant, RemoteCounters } from './shared-backend.js';

/** How long a client refused by `closed` is told to wait: Redis may be back by then. */
const CLOSED_RETRY_MS = 1_000;
/** Counters charged to the shared ones per round of {@link Counters.settle}. */
const SETTLE_CHUNK = 500;

/**
 * True when a remote failure says the call never reached the shared counters (an `unsent`
 * error: breaker open, no connection). Only such hits are owed to them afterwards: a call
 * that timed out may have been counted there anyway, and counting it twice would punish
 * a client for a slow Redis.
 */
function neverReached(error: unknown): boolean {
  return (error as { unsent?: unknown } | undefined)?.unsent === true;
}

/** Most counters kept in memory by the node's store (local mode, degraded mode, over-limit cache). */
export const LOCAL_COUNTERS = 100_000;

/** A lease this process holds: hits it may still allow, until when, and what to give back to. */
interface HeldLease {
  hits: number;
  until: number;
  limit: number;
  periodMs: number;
  /** Granted alone (degraded): owed whole, never given back. */
  alone: boolean;
  epoch: number | undefined;
}

/** A refusal remembered: when the client may come back, and until when to trust that without asking. */
interface Refusal {
  until: number;
  recheck: number;
}

/** How the leases of a site went, counted since start (`palisade_rate_leases_total`). */
export interface LeaseCounts {
  /** Leases received (at least one hit each). */
  granted: number;
  /** Leases spent to their last hit. */
  exhausted: number;
  /** Leases that ended by time with hits left, given back. */
  returned: number;
  /** Leases asked for and refused: the client was over its limit. */
  refused: number;
}

/** Where a node's counters stand in the cluster: what the lease share and the degraded share divide by. */
export interface CounterSites {
  /** Nodes running in the cluster, as last known (the `share` divisor). */
  liveNodes?: () => number;
  /** Processes of this node that decide on requests (its workers; 1 without). */
  workers?: () => number;
}

/**
 * The counter facet of every process. A rate check is decided where the request is, from a
 * lease: hits taken from the client's bucket at the authority that holds it — Redis when one
 * is attached, else the node's primary for its workers — and spent here without a round trip
 * until they run out or {@link LEASE_MS} passes; what is left then is given back. A lease is a
 * share of what the bucket has left over the sites that may ask, down to one hit near the
 * limit, where every check is the exact shared check: the cluster never allows more than the
 * limit. A process with no authority above it (one process, local store) counts exactly here.
 *
 * The node's counters also answer its workers' leases ({@link remote}): from Redis, or from
 * the node's own buckets. While Redis is unusable a lease follows its {@link DegradedRate}:
 * with `share` each node allows `ceil(limit / live nodes)` less what it took from Redis in the
 * period, so the cluster allows at most limit + nodes per period instead of nodes × limit.
 * What a node allowed alone (rates and windows) is owed to the shared counters and added to
 * them once they answer again — before the client's next lease, and by {@link settle} for the
 * rest — so an outage is no fresh budget. A local "over the limit until T" cache answers
 * repeat offenders without a round trip (for a lease's time at most: see `remember`).
 */
export class Counters implements CounterFacet {
  /** The node's own buckets: exact local counts, the authority for its workers, the degraded share. */
  private readonly tat: LRUCache<string, number>;
  /** What this node allowed alone while degraded, as a bucket of its share: the debt it owes. */
  private readonly aloneTat: LRUCache<string, number>;
  private readonly windows: LRUCache<string, { index: number; current: number; previous: number }>;
  /** Clients over a limit: when they may come back, and until when that is trusted here. */
  private readonly blockedUntil: LRUCache<string, Refusal>;
  /** Leases this process holds, by counter path. */
  private readonly leases = new Map<string, HeldLease>();
  /** Lease requests on their way, by path: the other checks of the same client wait for them. */
  private readonly asking = new Map<string, Promise<unknown>>();
  private leaseSweeper: NodeJS.Timeout | undefined;
  /** Rate counters this node counted alone, by path: the limit it judged with (its share) and the shared one. */
  private readonly owedRates = new Map<string, { limit: number; periodMs: number; localLimit: number }>();
  /** Window counts this node added alone, by path. */
  private readonly owedWindows = new Map<string, { windowMs: number; count: number }>();
  private settling: Promise<void> | undefined;
  /** This process's leases so far. */
  readonly leaseCounts: LeaseCounts = { granted: 0, exhausted: 0, returned: 0, refused: 0 };
  private readonly liveNodes: () => number;
  private readonly workers: () => number;

  constructor(
    private readonly backend: () => RemoteCounters | undefined,
    private readonly now: () => number = Date.now,
    /** Counters kept in memory (a worker, whose local counts are only a fallback, keeps fewer). */
    private readonly capacity = LOCAL_COUNTERS,
    sites: CounterSites = {},
  ) {
    this.tat = growingLru(capacity);
    this.aloneTat = growingLru(capacity);
    this.windows = growingLru(capacity);
    this.blockedUntil = growingLru(capacity);
    this.liveNodes = sites.liveNodes ?? (() => 1);
    const workers = sites.workers;
    this.workers = workers ? () => Math.max(1, workers()) : () => 1;
  }

  rate(key: CounterKey, limit: number, periodMs: number): Promise<RateDecision> {
    return Promise.resolve(this.check(key, limit, periodMs));
  }

  check(key: CounterKey, limit: number, periodMs: number, degraded: DegradedRate = 'local'): RateDecision | Promise<RateDecision> {
    return this.checkPath(counterPath(key), limit, periodMs, degraded);
  }

  /**
   * These counters as the contract's remote part, by counter path (`<plugin>:<rule>:<client>`,
   * see `counterPath`): how the node's counters serve its workers' leases, so every worker
   * takes from one place. A lease is answered synchronously when it needs no round trip.
   */
  readonly remote: Served<RemoteCounters> = {
    lease: (path, limit, periodMs, degraded) => this.grant(path, limit, periodMs, degraded ?? 'local', this.workers()),
    giveBack: (path, limit, periodMs, hits, epoch) => this.takeBack(path, limit, periodMs, hits, epoch),
    increment: (path, windowMs, by) => this.incrementPath(path, windowMs, by),
    reset: (path) => this.resetPath(path),
    charge: (path, periodMs, debtMs) => this.chargePath(path, periodMs, debtMs),
    peek: (path, limit, periodMs) => this.peekPath(path, limit, periodMs),
  };

  /** A check by counter path: the decision itself when no round trip is needed. */
  private checkPath(path: string, limit: number, periodMs: number, degraded: DegradedRate): RateDecision | Promise<RateDecision> {
    const now = this.now();
    const until = this.refusedUntil(path, now);
    if (until !== undefined) return { allowed: false, retryAfterMs: until - now, remaining: 0 };
    if (this.backend() === undefined) return this.exactRate(path, limit, periodMs, now);
    const lease = this.leases.get(path);
    if (lease !== undefined) {
      if (lease.until > now && lease.limit === limit && lease.periodMs === periodMs) return this.spend(path, lease);
      this.endLease(path, lease);
    }
    const asked = this.asking.get(path);
    // Another check of this client already asked: its lease may cover this one too.
    if (asked !== undefined) return asked.then(() => this.checkPath(path, limit, periodMs, degraded));
    // One hit when this process is its own authority's only site (Infinity: no share to keep).
    const decided = settleNow(this.grant(path, limit, periodMs, degraded, Infinity, this.sites()), (grant) => this.received(path, limit, periodMs, grant, now));
    if (!(decided instanceof Promise)) return decided;
    this.asking.set(path, decided);
    void decided.then(() => this.asking.delete(path));
    return decided;
  }

  /** The sites that may ask Redis for a lease on one bucket: every deciding process of every node. */
  private sites(): number {
    return Math.max(1, this.liveNodes()) * Math.max(1, this.workers());
  }

  /** One hit of a held lease. */
  private spend(path: string, lease: HeldLease): RateDecision {
    if (--lease.hits === 0) {
      this.leases.delete(path);
      this.leaseCounts.exhausted++;
    }
    return { allowed: true, retryAfterMs: 0, remaining: lease.hits };
  }

  /** A grant this process asked for: its first hit spent on the check that asked, the rest held. */
  private received(path: string, limit: number, periodMs: number, grant: LeaseGrant, now: number): RateDecision {
    if (grant.hits === 0) {
      this.leaseCounts.refused++;
      return { allowed: false, retryAfterMs: grant.retryAfterMs, remaining: 0 };
    }
    this.leaseCounts.granted++;
    if (grant.hits === 1) {
      this.leaseCounts.exhausted++;
      return { allowed: true, retryAfterMs: 0, remaining: 0 };
    }
    this.leases.set(path, { hits: grant.hits - 1, until: now + LEASE_MS, limit, periodMs, alone: grant.alone === true, epoch: grant.epoch });
    this.leaseSweeper ??= setInterval(() => this.sweepLeases(), LEASE_MS).unref();
    return { allowed: true, retryAfterMs: 0, remaining: grant.hits - 1 };
  }

  /** Ends a lease whose time is up: its hits go back, unless it was granted alone. */
  private endLease(path: string, lease: HeldLease): void {
    this.leases.delete(path);
    if (lease.alone) return;
    this.leaseCounts.returned++;
    const remote = this.backend();
    if (remote) void remote.giveBack(path, lease.limit, lease.periodMs, lease.hits, lease.epoch).catch(() => undefined);
  }

  private sweepLeases(): void {
    const now = this.now();
    for (const [path, lease] of this.leases) if (lease.until <= now) this.endLease(path, lease);
    if (this.leases.size === 0) {
      clearInterval(this.leaseSweeper);
      this.leaseSweeper = undefined;
    }
  }

  /**
   * A lease on `path` from the authority above this process, or from this node's buckets
   * when there is none; `share` sites divide what the bucket has left. Redis is asked with
   * `sites` (every deciding process of the cluster). A refusal is remembered; a grant from
   * Redis is also counted in this node's bucket of its degraded share, so that while Redis
   * is unusable the node allows its share less what it already took.
   */
  private grant(path: string, limit: number, periodMs: number, degraded: DegradedRate, share: number, sites = share): LeaseGrant | Promise<LeaseGrant> {
    const now = this.now();
    const until = this.refusedUntil(path, now);
    if (until !== undefined) return { hits: 0, retryAfterMs: until - now };
    const remote = this.backend();
    if (remote === undefined) return this.remember(path, this.localGrant(path, limit, periodMs, now, share), now);
    // Degraded (the remote failed or is gone): decide here. A plain promise chain, not
    // async/await: fewer microtask turns on the hot path.
    const alone = (error: unknown): LeaseGrant =>
      this.remember(path, this.degradedGrant(path, limit, periodMs, now, degraded, share, neverReached(error)), now);
    const ask = (): Promise<LeaseGrant> =>
      remote.lease(path, limit, periodMs, degraded, sites).then((grant) => {
        if (grant.hits > 0 && grant.alone === undefined) this.mirror(path, limit, periodMs, degraded, grant.hits, now);
        return this.remember(path, grant, now);
      }, alone);
    try {
      // What this node allowed alone goes to the shared counter before the client is judged there.
      if (this.owedRates.size > 0 && this.owedRates.has(path)) return this.settleRate(path, remote).then(ask, alone);
      return ask();
    } catch (error) {
      return alone(error);
    }
  }

  /**
   * Notes a refusal from the authority in the over-limit cache: the client may come back
   * when the bucket has a hit again (its Retry-After), but this site asks again after
   * {@link LEASE_MS} at most. Hits leased to other sites come back to the bucket when their
   * lease ends, sooner than it refills; a site that trusted the refusal longer would never
   * see them, and a client whose connections keep reaching it would get less than its limit.
   */
  private remember(path: string, grant: LeaseGrant, now: number): LeaseGrant {
    if (grant.hits === 0) this.refuse(path, now, grant.retryAfterMs, Math.min(grant.retryAfterMs, LEASE_MS));
    return grant;
  }

  private refuse(path: string, now: number, retryAfterMs: number, trustedMs: number): void {
    this.blockedUntil.set(path, { until: now + retryAfterMs, recheck: now + trustedMs }, { ttl: Math.max(1, trustedMs) });
  }

  /** When a client refused here may come back, while that refusal is still trusted. */
  private refusedUntil(path: string, now: number): number | undefined {
    const refusal = this.blockedUntil.get(path);
    return refusal !== undefined && refusal.recheck > now ? refusal.until : undefined;
  }

  /** Hits given back to this node: to Redis when it granted them, else to the node's bucket. */
  private takeBack(path: string, limit: number, periodMs: number, hits: number, epoch: number | undefined): void | Promise<void> {
    // The hits may let the client in again before the refusal remembered here ends.
    this.blockedUntil.delete(path);
    const remote = this.backend();
    if (remote) return remote.giveBack(path, limit, periodMs, hits, epoch).catch(() => undefined);
    const tat = this.tat.get(path);
    if (tat === undefined) return;
    const now = this.now();
    const back = gcraGiveBack(tat, limit, periodMs, hits, now);
    if (back <= now) this.tat.delete(path);
    else this.tat.set(path, back, { ttl: Math.ceil(back - now) });
  }

  /** A lease from this node's bucket (the full limit: the node is the authority). */
  private localGrant(path: string, limit: number, periodMs: number, now: number, share: number): LeaseGrant {
    const granted = gcraGrant(this.tat.get(path) ?? 0, limit, periodMs, now, share);
    if (granted.hits > 0) this.tat.set(path, granted.tat, { ttl: Math.ceil(granted.tat - now) });
    return { hits: granted.hits, retryAfterMs: granted.retryAfterMs };
  }

  /** The limit this node holds to alone under `mode`: its share of the cluster's, or all of it. */
  private nodeLimit(limit: number, mode: DegradedRate): number {
    return mode === 'share' ? Math.ceil(limit / Math.max(1, this.liveNodes())) : limit;
  }

  /** Counts hits Redis granted this node in its own bucket of its degraded limit. */
  private mirror(path: string, limit: number, periodMs: number, mode: DegradedRate, hits: number, now: number): void {
    if (mode !== 'share' && mode !== 'local') return;
    const interval = periodMs / this.nodeLimit(limit, mode);
    const tat = Math.min(Math.max(this.tat.get(path) ?? 0, now) + hits * interval, now + periodMs);
    this.tat.set(path, tat, { ttl: Math.ceil(tat - now) });
  }

  /**
   * Adds what this node counted alone to the shared counters, while they answer (the node's
   * store runs it every few seconds; a client's next lease does its own first).
   */
  settle(): Promise<void> {
    this.settling ??= this.settleAll().finally(() => (this.settling = undefined));
    return this.settling;
  }

  private async settleAll(): Promise<void> {
    const remote = this.backend();
    if (!remote || (this.owedRates.size === 0 && this.owedWindows.size === 0)) return;
    try {
      while (this.owedRates.size > 0) await Promise.all([...this.owedRates.keys()].slice(0, SETTLE_CHUNK).map((path) => this.settleRate(path, remote)));
      while (this.owedWindows.size > 0) {
        await Promise.all(
          [...this.owedWindows].slice(0, SETTLE_CHUNK).map(async ([path, owed]) => {
            this.owedWindows.delete(path);
            try {
              await remote.increment(path, owed.windowMs, owed.count);
            } catch (error) {
              if (neverReached(error)) this.oweWindow(path, owed.windowMs, owed.count);
              throw error;
            }
          }),
        );
      }
    } catch {
      // Still unusable: owed until the next round.
    }
  }

  /**
   * Charges the shared counter of `path` with what this node allowed alone and time has not
   * given back yet, converted from its share's interval to the shared limit's. Rejects,
   * keeping the debt, when it fails.
   */
  private async settleRate(path: string, remote: RemoteCounters): Promise<void> {
    const owed = this.owedRates.get(path);
    if (!owed) return;
    this.owedRates.delete(path);
    const tat = this.aloneTat.get(path) ?? 0;
    const ahead = tat - this.now();
    if (ahead <= 0 || !remote.charge) return;
    const debtMs = (ahead / (owed.periodMs / owed.localLimit)) * (owed.periodMs / owed.limit);
    try {
      await remote.charge(path, owed.periodMs, debtMs);
    } catch (error) {
      // Owed again only when surely not charged: a charge that timed out may have landed.
      if (neverReached(error)) this.owedRates.set(path, owed);
      throw error;
    }
    // What was charged leaves the debt; hits allowed alone meanwhile stay (and are owed).
    const now = this.aloneTat.get(path);
    if (now === tat) this.aloneTat.delete(path);
    else if (now !== undefined) this.aloneTat.set(path, now - ahead, { ttl: Math.max(1, Math.ceil(now - ahead - this.now())) });
  }

  /**
   * A lease while the shared counters are unusable (see {@link DegradedRate}): from this
   * node's bucket of its limit under `mode`, owed to the shared counters when `owed`.
   */
  private degradedGrant(path: string, limit: number, periodMs: number, now: number, mode: DegradedRate, share: number, owed: boolean): LeaseGrant {
    if (mode === 'open') return { hits: Number.isFinite(share) ? limit : 1, retryAfterMs: 0, alone: true };
    if (mode === 'closed') return { hits: 0, retryAfterMs: CLOSED_RETRY_MS };
    const localLimit = this.nodeLimit(limit, mode);
    const granted = this.localGrant(path, localLimit, periodMs, now, share);
    if (granted.hits === 0) return granted;
    if (owed && (this.owedRates.has(path) || this.owedRates.size < this.capacity)) {
      this.owedRates.set(path, { limit, periodMs, localLimit });
      const debt = Math.max(this.aloneTat.get(path) ?? 0, now) + granted.hits * (periodMs / localLimit);
      this.aloneTat.set(path, debt, { ttl: Math.ceil(debt - now) });
    }
    return { ...granted, alone: true };
  }

  private oweWindow(path: string, windowMs: number, count: number): void {
    const owed = this.owedWindows.get(path);
    if (owed) owed.count += count;
    else if (this.owedWindows.size < this.capacity) this.owedWindows.set(path, { windowMs, count });
  }

  /** The exact check of a process that is its own authority (one process, local store). */
  private exactRate(path: string, limit: number, periodMs: number, now: number): RateDecision {
    const granted = gcraGrant(this.tat.get(path) ?? 0, limit, periodMs, now, Infinity);
    if (granted.hits > 0) {
      this.tat.set(path, granted.tat, { ttl: Math.ceil(granted.tat - now) });
      return { allowed: true, retryAfterMs: 0, remaining: Math.floor((now + periodMs - granted.tat) / (periodMs / limit) + 1e-9) };
    }
    // This process is the bucket: its refusal holds until the bucket refills.
    this.refuse(path, now, granted.retryAfterMs, granted.retryAfterMs);
    return { allowed: false, retryAfterMs: granted.retryAfterMs, remaining: 0 };
  }

  peek(key: CounterKey, limit: number, periodMs: number): Promise<RateDecision> {
    return this.peekPath(counterPath(key), limit, periodMs);
  }

  /**
   * A worker's debt (what it allowed alone while its primary did not answer) added here: to
   * Redis when the node has it, else to the node's own bucket, at most a period ahead.
   */
  private async chargePath(path: string, periodMs: number, debtMs: number): Promise<void> {
    const remote = this.backend();
    if (remote?.charge) return remote.charge(path, periodMs, debtMs);
    const now = this.now();
    const tat = Math.min(Math.max(this.tat.get(path) ?? 0, now) + debtMs, now + periodMs);
    this.tat.set(path, tat, { ttl: Math.max(1, Math.ceil(tat - now)) });
  }

  private async peekPath(path: string, limit: number, periodMs: number): Promise<RateDecision> {
    const now = this.now();
    const until = this.refusedUntil(path, now);
    if (until !== undefined) return { allowed: false, retryAfterMs: until - now, remaining: 0 };
    const remote = this.backend();
    if (remote?.peek) {
      try {
        return await remote.peek(path, limit, periodMs);
      } catch {
        // unusable: this node's own count is the best answer
      }
    }
    return gcraAnswer(this.tat.get(path) ?? 0, limit, periodMs, now);
  }

  increment(key: CounterKey, windowMs: number, by = 1): Promise<number> {
    return this.incrementPath(counterPath(key), windowMs, by);
  }

  reset(key: CounterKey): Promise<void> {
    return this.resetPath(counterPath(key));
  }

  private async incrementPath(path: string, windowMs: number, by: number): Promise<number> {
    const remote = this.backend();
    if (remote) {
      // What this node counted alone for this counter goes with this increment (not with a read).
      const owed = by > 0 ? this.owedWindows.get(path) : undefined;
      if (owed) this.owedWindows.delete(path);
      try {
        return await remote.increment(path, windowMs, by + (owed?.count ?? 0));
      } catch (error) {
        // degraded: count here, and owe what surely did not reach the shared counter
        if (neverReached(error) && by > 0) {
          if (owed) this.oweWindow(path, owed.windowMs, owed.count);
          this.oweWindow(path, windowMs, by);
        }
      }
    }
    return this.localIncrement(path, windowMs, by, this.now());
  }

  private async resetPath(path: string): Promise<void> {
    this.owedRates.delete(path);
    this.owedWindows.delete(path);
    this.leases.delete(path);
    this.tat.delete(path);
    this.aloneTat.delete(path);
    this.windows.delete(path);
    this.blockedUntil.delete(path);
    await this.backend()
      ?.reset(path)
      .catch(() => undefined);
  }

  /** The same sliding window as window_count.lua, on this node's clock. */
  private localIncrement(path: string, windowMs: number, by: number, now: number): number {
    const index = Math.floor(now / windowMs);
    let state = this.windows.get(path);
    if (!state || state.index < index - 1) state = { index, current: 0, previous: 0 };
    else if (state.index === index - 1) state = { index, current: 0, previous: state.current };
    state.current += by;
    // A read (by 0) leaves no trace.
    if (by > 0) this.windows.set(path, state, { ttl: windowMs * 2 });
    const overlap = (windowMs - (now - index * windowMs)) / windowMs;
    return state.current + Math.floor(state.previous * overlap);
  }
}

/** `then` for a value that may be a promise: a plain value is answered in the same turn. */
function settleNow<T, R>(value: T | Promise<T>, then: (value: T) => R): R | Promise<R> {
  return value instanceof Promise ? value.then(then) : then(value);
}
