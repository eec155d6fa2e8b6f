import { LRUCache } from 'lru-cache';
import type { Served } from './served.js';
import { counterPath, type CounterKey } from './counter-keys.js';
import type { RateDecision, DegradedRate, CounterFacet } from './types.js';
import type { RemoteCounters } from './shared-backend.js';

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

/**
 * GCRA's answer for one more hit at `now` on a bucket whose theoretical arrival time is
 * `tat` (same unit as `now`): what gcra_core.lua decides, and what a peek reads.
 */
export function gcraAnswer(tat: number, limit: number, periodMs: number, now: number): RateDecision {
  const interval = periodMs / limit;
  const next = Math.max(tat, now) + interval;
  const allowAt = next - periodMs;
  if (allowAt > now) return { allowed: false, retryAfterMs: Math.ceil(allowAt - now), remaining: 0 };
  return { allowed: true, retryAfterMs: 0, remaining: Math.floor((periodMs - (next - now)) / interval) };
}

/** Most counters kept in memory by the node's store (local mode, degraded mode, over-limit cache). */
export const LOCAL_COUNTERS = 100_000;

/**
 * The counter facet: remote when a shared backend offers counters and it answers, local
 * otherwise. While degraded a rate check follows its {@link DegradedRate}: with `share`
 * each node allows `ceil(limit / live nodes)`, so the cluster allows at most limit + nodes
 * per period instead of nodes × limit. What a node counted alone (rates and windows) is
 * owed to the shared counters and added to them once they answer again — before the
 * client's next check, and by {@link settle} for the rest — so an outage is no fresh
 * budget. A local "over the limit until T" cache answers repeat offenders without a round trip.
 */
export class Counters implements CounterFacet {
  private readonly tat: LRUCache<string, number>;
  private readonly windows: LRUCache<string, { index: number; current: number; previous: number }>;
  private readonly blockedUntil: LRUCache<string, number>;
  /** Rate counters this node counted alone, by path: the limit it judged with (its share) and the shared one. */
  private readonly owedRates = new Map<string, { limit: number; periodMs: number; localLimit: number }>();
  /** Window counts this node added alone, by path. */
  private readonly owedWindows = new Map<string, { windowMs: number; count: number }>();
  private settling: Promise<void> | undefined;

  constructor(
    private readonly backend: () => RemoteCounters | undefined,
    private readonly now: () => number = Date.now,
    /** Counters kept in memory (a worker, whose local counts are only a fallback, keeps fewer). */
    private readonly capacity = LOCAL_COUNTERS,
    /** Nodes running in the cluster, as last known (the `share` divisor). */
    private readonly liveNodes: () => number = () => 1,
  ) {
    // lru-cache allocates its whole capacity up front.
    this.tat = new LRUCache({ max: capacity });
    this.windows = new LRUCache({ max: capacity });
    this.blockedUntil = new LRUCache({ max: capacity });
  }

  rate(key: CounterKey, limit: number, periodMs: number): Promise<RateDecision> {
    return Promise.resolve(this.check(key, limit, periodMs));
  }

  check(key: CounterKey, limit: number, periodMs: number, degraded: DegradedRate = 'local'): RateDecision | Promise<RateDecision> {
    return this.checkPath(counterPath(key), limit, periodMs, degraded);
  }

  /**
   * These counters as the contract's remote part, by counter path (`<plugin>:<rule>:<client>`,
   * see `counterPath`): how the node's counters serve its workers, so every worker counts in
   * one place. A rate check is answered synchronously when it needs no round trip.
   */
  readonly remote: Served<Pick<RemoteCounters, 'rate' | 'increment' | 'reset'>> = {
    rate: (path, limit, periodMs, degraded) => this.checkPath(path, limit, periodMs, degraded),
    increment: (path, windowMs, by) => this.incrementPath(path, windowMs, by),
    reset: (path) => this.resetPath(path),
  };

  /** {@link check} by counter path: the decision itself when no round trip is needed. */
  private checkPath(path: string, limit: number, periodMs: number, degraded: DegradedRate = 'local'): RateDecision | Promise<RateDecision> {
    const now = this.now();
    const remote = this.backend();
    const known = this.rateWithoutRemote(path, limit, periodMs, now, remote === undefined);
    if (known) return known;
    const remember = (decision: RateDecision): RateDecision => {
      if (!decision.allowed) this.blockedUntil.set(path, now + decision.retryAfterMs, { ttl: decision.retryAfterMs });
      return decision;
    };
    // Degraded (the remote failed or is gone): decide here. A plain promise chain, not
    // async/await: two fewer microtask turns per request on the hot path.
    const alone = (error: unknown): RateDecision => remember(this.degradedRate(path, limit, periodMs, now, degraded, neverReached(error)));
    try {
      // What this node allowed alone goes to the shared counter before the client is judged there.
      if (this.owedRates.size > 0 && this.owedRates.has(path)) return this.settleRate(path, remote!).then(() => remote!.rate(path, limit, periodMs, degraded)).then(remember, alone);
      // The policy travels with the check: a worker's check is decided by its node's counters.
      return remote!.rate(path, limit, periodMs, degraded).then(remember, alone);
    } catch (error) {
      return alone(error);
    }
  }

  /**
   * Adds what this node counted alone to the shared counters, while they answer (the node's
   * store runs it every few seconds; a client's next check does its own first).
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
   * Charges the shared counter of `path` with what this node's own GCRA state still holds
   * ahead of now (the hits it allowed alone, less what time has given back), converted from
   * its share's interval to the shared limit's. Rejects, keeping the debt, when it fails.
   */
  private async settleRate(path: string, remote: RemoteCounters): Promise<void> {
    const owed = this.owedRates.get(path);
    if (!owed) return;
    this.owedRates.delete(path);
    const tat = this.tat.get(path) ?? 0;
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
    // What was charged leaves this node's state; hits counted alone meanwhile stay (and are owed).
    const now = this.tat.get(path);
    if (now === tat) this.tat.delete(path);
    else if (now !== undefined) this.tat.set(path, now - ahead, { ttl: Math.max(1, Math.ceil(now - ahead - this.now())) });
  }

  /** A rate decision while the shared counters are unusable (see {@link DegradedRate}). */
  private degradedRate(path: string, limit: number, periodMs: number, now: number, mode: DegradedRate, owed: boolean): RateDecision {
    if (mode === 'open') return { allowed: true, retryAfterMs: 0, remaining: limit };
    if (mode === 'closed') return { allowed: false, retryAfterMs: CLOSED_RETRY_MS, remaining: 0 };
    const localLimit = mode === 'share' ? Math.ceil(limit / Math.max(1, this.liveNodes())) : limit;
    const decision = this.localRate(path, localLimit, periodMs, now);
    if (owed && decision.allowed && (this.owedRates.has(path) || this.owedRates.size < this.capacity)) this.owedRates.set(path, { limit, periodMs, localLimit });
    return decision;
  }

  private oweWindow(path: string, windowMs: number, count: number): void {
    const owed = this.owedWindows.get(path);
    if (owed) owed.count += count;
    else if (this.owedWindows.size < this.capacity) this.owedWindows.set(path, { windowMs, count });
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

  async peek(key: CounterKey, limit: number, periodMs: number): Promise<RateDecision> {
    const path = counterPath(key);
    const now = this.now();
    const until = this.blockedUntil.get(path);
    if (until !== undefined && until > now) return { allowed: false, retryAfterMs: until - now, remaining: 0 };
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
    this.tat.delete(path);
    this.windows.delete(path);
    this.blockedUntil.delete(path);
    await this.backend()?.reset(path).catch(() => undefined);
  }

  /** The same GCRA as gcra_core.lua, on this node's clock. */
  private localRate(path: string, limit: number, periodMs: number, now: number): RateDecision {
    const held = this.tat.get(path) ?? 0;
    const decision = gcraAnswer(held, limit, periodMs, now);
    if (decision.allowed) {
      const next = Math.max(held, now) + periodMs / limit;
      this.tat.set(path, next, { ttl: Math.ceil(next - now) });
    }
    return decision;
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
