import type { Logger } from 'pino';
import { gcraAnswer } from '../rate-lease.js';
import { clusterRateBatcher } from './cluster/rate-by-master.js';
import { timed, type ObserveCommand } from './command-timing.js';
import type { RedisConnections } from './connections.js';
import type { RedisKeys } from './keys.js';
import { RateBatcher } from './rate-batch.js';
import type { RateDecision } from '../types.js';
import type { LeaseGrant, RemoteCounters } from '../shared-backend.js';

/** How far back grants are charged again to a new master after a failover. */
const REASSERT_MS = 10_000;
/** Grants remembered at most (the busiest ten seconds of a large node). */
const MAX_REMEMBERED = 200_000;
/** Rounds of charging a new master before the grants are let go. */
const REASSERT_TRIES = 5;

/**
 * Counters in Redis through the request-path pool, within `REDIS_REQUEST_TIMEOUT`, skipped
 * entirely while the breaker is open (the facade then counts locally). The leases and
 * give-backs of one event-loop turn share one script call ({@link RateBatcher}); on a Redis
 * Cluster, one per master (see cluster/rate-by-master.ts). `observe` sees each round trip.
 * A grant carries the failovers seen so far as its epoch: hits granted by a master that has
 * been replaced since are not given back to its successor, which may never have had them.
 * And since a failover loses what the old master had not passed on to its replica (Redis
 * replicates asynchronously), the grants of the last {@link REASSERT_MS} are charged again to
 * the new master: a client active just before a failover may lose that much of its budget
 * (counted twice), but none is given a fresh one.
 */
export class RedisCounters implements RemoteCounters {
  private readonly rates: RateBatcher;
  /** The grants of the last REASSERT_MS, oldest first. */
  private recent: Array<{ key: string; periodMs: number; limit: number; hits: number; at: number }> = [];

  constructor(
    private readonly connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly observe: ObserveCommand = () => undefined,
    /** Where a Redis Cluster's change of batching is said. */
    log?: Logger,
  ) {
    // The batcher is chosen once, as the client is (clients.ts): the standalone path knows no slots.
    this.rates = keys.cluster
      ? clusterRateBatcher(connections, observe, log)
      : new RateBatcher((batch, args) => timed(observe, 'gcra', () => connections.run((client) => client.palisadeGcra(batch.length, ...batch, ...args))), true);
  }

  /** The master changed (a failover): the grants of the last REASSERT_MS are charged to the new one. */
  masterChanged(): void {
    void this.reassert(this.recent.splice(0), REASSERT_TRIES);
  }

  async lease(path: string, limit: number, periodMs: number, _degraded: unknown, sites: number): Promise<LeaseGrant> {
    const epoch = this.connections.failovers;
    const key = this.keys.rate(path);
    const reply = await this.rates.lease(key, periodMs, limit, sites);
    if (reply <= 0) return { hits: 0, retryAfterMs: -reply };
    this.remember({ key, periodMs, limit, hits: reply, at: Date.now() });
    return { hits: reply, retryAfterMs: 0, epoch };
  }

  private remember(grant: RedisCounters['recent'][number]): void {
    const recent = this.recent;
    recent.push(grant);
    let old = 0;
    while (old < recent.length && (recent[old]!.at < grant.at - REASSERT_MS || recent.length - old > MAX_REMEMBERED)) old++;
    if (old > 0) recent.splice(0, old);
  }

  /** Charges the new master with the grants of the last REASSERT_MS (see the class); tried again a second later while it fails. */
  private async reassert(grants: RedisCounters['recent'], tries: number): Promise<void> {
    const byKey = new Map<string, { periodMs: number; debtUs: number }>();
    for (const grant of grants) {
      const debtUs = (grant.hits * grant.periodMs * 1_000) / grant.limit;
      const known = byKey.get(grant.key);
      if (known && known.periodMs === grant.periodMs) known.debtUs += debtUs;
      else byKey.set(grant.key, { periodMs: grant.periodMs, debtUs });
    }
    const failed: typeof grants = [];
    await Promise.all(
      [...byKey].map(async ([key, { periodMs, debtUs }]) => {
        try {
          await this.connections.run((client) => client.palisadeGcraCharge(key, periodMs, Math.round(debtUs)));
        } catch {
          failed.push(...grants.filter((grant) => grant.key === key));
        }
      }),
    );
    if (failed.length > 0 && tries > 1) setTimeout(() => void this.reassert(failed, tries - 1), 1_000).unref();
  }

  async giveBack(path: string, limit: number, periodMs: number, hits: number, epoch: number | undefined): Promise<void> {
    if (epoch !== this.connections.failovers || hits < 1) return;
    await this.rates.giveBack(this.keys.rate(path), periodMs, limit, hits);
  }

  increment(path: string, windowMs: number, by: number): Promise<number> {
    return timed(this.observe, 'window', () => this.connections.run((client) => client.palisadeWindowCount(this.keys.window(path), windowMs, by)));
  }

  /** The debt goes in microseconds, the unit of the bucket: fast rates owe fractions of a millisecond per hit. */
  async charge(path: string, periodMs: number, debtMs: number): Promise<void> {
    await timed(this.observe, 'gcra_charge', () =>
      this.connections.run((client) => client.palisadeGcraCharge(this.keys.rate(path), periodMs, Math.round(debtMs * 1_000))),
    );
  }

  async peek(path: string, limit: number, periodMs: number): Promise<RateDecision> {
    const [now, held] = await this.connections.run((client) => client.palisadeGcraPeek(this.keys.rate(path)));
    // Microseconds on Redis's clock.
    return gcraAnswer(held < 0 ? 0 : held / 1_000, limit, periodMs, now / 1_000);
  }

  async reset(path: string): Promise<void> {
    await this.connections.run((client) => client.del(this.keys.rate(path), this.keys.window(path)));
  }
}
