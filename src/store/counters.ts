import { LRUCache } from 'lru-cache';
import { counterPath, type CounterKey } from './counter-keys.js';

/** The answer of a rate check. */
export interface RateDecision {
  allowed: boolean;
  /** When not allowed: milliseconds until one more hit would be. */
  retryAfterMs: number;
  /** Hits left in the current period after this one. */
  remaining: number;
}

/** Counters shared by the cluster (or local to the node). */
export interface CounterFacet {
  /**
   * GCRA: allows at most `limit` hits per `periodMs` (a burst of `limit` allowed). One
   * Redis round trip, none while the client is known to be over the limit.
   */
  rate(key: CounterKey, limit: number, periodMs: number): Promise<RateDecision>;
  /**
   * The same as {@link rate}, but the decision itself (no promise) when it needs no round
   * trip: no shared backend, or a client known to be over its limit. The request path's
   * form: most requests then cost no promise at all.
   */
  check(key: CounterKey, limit: number, periodMs: number): RateDecision | Promise<RateDecision>;
  /** Adds `by` hits and returns the count of the last `windowMs` (sliding window). */
  increment(key: CounterKey, windowMs: number, by?: number): Promise<number>;
  /** Forgets the counter (rate and window) of that key, e.g. when a ban is lifted. */
  reset(key: CounterKey): Promise<void>;
}

/** A remote implementation (Redis); every call may throw, the facade then counts locally. */
export interface RemoteCounters {
  rate(path: string, limit: number, periodMs: number): Promise<RateDecision>;
  increment(path: string, windowMs: number, by: number): Promise<number>;
  reset(path: string): Promise<void>;
}

/** Most counters kept in memory by the node's store (local mode, degraded mode, over-limit cache). */
export const LOCAL_COUNTERS = 100_000;

/**
 * The counter facet: remote when a shared backend offers counters and it answers, local
 * otherwise. While degraded each node counts alone, so a client can get up to
 * (nodes × limit) per period across the cluster — the documented bound. A local
 * "over the limit until T" cache answers repeat offenders without a round trip.
 */
export class Counters implements CounterFacet {
  private readonly tat: LRUCache<string, number>;
  private readonly windows: LRUCache<string, { index: number; current: number; previous: number }>;
  private readonly blockedUntil: LRUCache<string, number>;

  constructor(
    private readonly remote: () => RemoteCounters | undefined,
    private readonly now: () => number = Date.now,
    /** Counters kept in memory (a worker, whose local counts are only a fallback, keeps fewer). */
    capacity = LOCAL_COUNTERS,
  ) {
    // lru-cache allocates its whole capacity up front.
    this.tat = new LRUCache({ max: capacity });
    this.windows = new LRUCache({ max: capacity });
    this.blockedUntil = new LRUCache({ max: capacity });
  }

  rate(key: CounterKey, limit: number, periodMs: number): Promise<RateDecision> {
    return Promise.resolve(this.check(key, limit, periodMs));
  }

  check(key: CounterKey, limit: number, periodMs: number): RateDecision | Promise<RateDecision> {
    return this.checkPath(counterPath(key), limit, periodMs);
  }

  /**
   * The same operations by counter path (`<plugin>:<rule>:<client>`, see `counterPath`):
   * how the node's counters serve its workers, so every worker counts in one place.
   */
  readonly byPath: RemoteCounters = {
    rate: (path, limit, periodMs) => Promise.resolve(this.checkPath(path, limit, periodMs)),
    increment: (path, windowMs, by) => this.incrementPath(path, windowMs, by),
    reset: (path) => this.resetPath(path),
  };

  /** {@link check} by counter path: the decision itself when no round trip is needed. */
  checkPath(path: string, limit: number, periodMs: number): RateDecision | Promise<RateDecision> {
    const now = this.now();
    const remote = this.remote();
    const known = this.rateWithoutRemote(path, limit, periodMs, now, remote === undefined);
    if (known) return known;
    const remember = (decision: RateDecision): RateDecision => {
      if (!decision.allowed) this.blockedUntil.set(path, now + decision.retryAfterMs, { ttl: decision.retryAfterMs });
      return decision;
    };
    // Degraded (the remote failed or is gone): count here. A plain promise chain, not
    // async/await: two fewer microtask turns per request on the hot path.
    const degraded = (): RateDecision => remember(this.localRate(path, limit, periodMs, now));
    try {
      return remote!.rate(path, limit, periodMs).then(remember, degraded);
    } catch {
      return degraded();
    }
  }

  /** The over-limit cache's answer, or (`local`) this node's count; undefined: ask the remote. */
  private rateWithoutRemote(path: string, limit: number, periodMs: number, now: number, local: boolean): RateDecision | undefined {
    const until = this.blockedUntil.get(path);
    if (until !== undefined && until > now) return { allowed: false, retryAfterMs: until - now, remaining: 0 };
    if (!local) return undefined;
    const decision = this.localRate(path, limit, periodMs, now);
    if (!decision.allowed) this.blockedUntil.set(path, now + decision.retryAfterMs, { ttl: decision.retryAfterMs });
    return decision;
  }

  increment(key: CounterKey, windowMs: number, by = 1): Promise<number> {
    return this.incrementPath(counterPath(key), windowMs, by);
  }

  reset(key: CounterKey): Promise<void> {
    return this.resetPath(counterPath(key));
  }

  private async incrementPath(path: string, windowMs: number, by: number): Promise<number> {
    const remote = this.remote();
    if (remote) {
      try {
        return await remote.increment(path, windowMs, by);
      } catch {
        // degraded: count here
      }
    }
    return this.localIncrement(path, windowMs, by, this.now());
  }

  private async resetPath(path: string): Promise<void> {
    this.tat.delete(path);
    this.windows.delete(path);
    this.blockedUntil.delete(path);
    await this.remote()?.reset(path).catch(() => undefined);
  }

  /** The same GCRA as gcra.lua, on this node's clock. */
  private localRate(path: string, limit: number, periodMs: number, now: number): RateDecision {
    const interval = periodMs / limit;
    const tat = Math.max(this.tat.get(path) ?? 0, now);
    const next = tat + interval;
    const allowAt = next - periodMs;
    if (allowAt > now) return { allowed: false, retryAfterMs: Math.ceil(allowAt - now), remaining: 0 };
    this.tat.set(path, next, { ttl: Math.ceil(next - now) });
    return { allowed: true, retryAfterMs: 0, remaining: Math.floor((periodMs - (next - now)) / interval) };
  }

  /** The same sliding window as window_count.lua, on this node's clock. */
  private localIncrement(path: string, windowMs: number, by: number, now: number): number {
    const index = Math.floor(now / windowMs);
    let state = this.windows.get(path);
    if (!state || state.index < index - 1) state = { index, current: 0, previous: 0 };
    else if (state.index === index - 1) state = { index, current: 0, previous: state.current };
    state.current += by;
    this.windows.set(path, state, { ttl: windowMs * 2 });
    const overlap = (windowMs - (now - index * windowMs)) / windowMs;
    return state.current + Math.floor(state.previous * overlap);
  }
}
