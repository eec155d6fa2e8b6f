import type { Logger } from 'pino';
import { gcraAnswer } from '../counters.js';
import { clusterRateBatcher } from './cluster/rate-by-master.js';
import { timed, type ObserveCommand } from './command-timing.js';
import type { RedisConnections } from './connections.js';
import type { RedisKeys } from './keys.js';
import { RateBatcher } from './rate-batch.js';
import type { RateDecision } from '../types.js';
import type { RemoteCounters } from '../shared-backend.js';

/**
 * Counters in Redis through the request-path pool, within `REDIS_REQUEST_TIMEOUT`, skipped
 * entirely while the breaker is open (the facade then counts locally). Rate checks of one
 * event-loop turn share one script call ({@link RateBatcher}); on a Redis Cluster, one per
 * master (see cluster/rate-by-master.ts). `observe` sees each round trip.
 */
export class RedisCounters implements RemoteCounters {
  private readonly rates: RateBatcher;

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
      : new RateBatcher((batch, args) => timed(observe, 'gcra', () => connections.run((client) => client.palisadeGcra(batch.length, ...batch, ...args))));
  }

  rate(path: string, limit: number, periodMs: number): Promise<RateDecision> {
    return this.rates.check(this.keys.rate(path), periodMs, limit);
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
