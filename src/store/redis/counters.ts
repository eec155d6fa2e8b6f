import type { RateDecision, RemoteCounters } from '../counters.js';
import type { RedisConnections } from './connections.js';
import type { RedisKeys } from './keys.js';
import { RateBatcher } from './rate-batch.js';

/**
 * Counters in Redis through the request-path pool, within `REDIS_REQUEST_TIMEOUT`, skipped
 * entirely while the breaker is open (the facade then counts locally). Rate checks of one
 * event-loop turn share one script call ({@link RateBatcher}); `observe` sees each call.
 */
export class RedisCounters implements RemoteCounters {
  private readonly rates = new RateBatcher((keys, args) =>
    this.timed('gcra', () => this.connections.run((client) => client.palisadeGcra(keys.length, ...keys, ...args))),
  );

  constructor(
    private readonly connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly observe: (command: string, seconds: number, outcome: 'ok' | 'error' | 'unavailable') => void = () => undefined,
  ) {}

  rate(path: string, limit: number, periodMs: number): Promise<RateDecision> {
    return this.rates.check(this.keys.rate(path), periodMs, limit);
  }

  increment(path: string, windowMs: number, by: number): Promise<number> {
    return this.timed('window', () => this.connections.run((client) => client.palisadeWindowCount(this.keys.window(path), windowMs, by)));
  }

  async reset(path: string): Promise<void> {
    await this.connections.run((client) => client.del(this.keys.rate(path), this.keys.window(path)));
  }

  private async timed<T>(command: string, run: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    try {
      const result = await run();
      this.observe(command, Number(process.hrtime.bigint() - started) / 1e9, 'ok');
      return result;
    } catch (error) {
      this.observe(command, Number(process.hrtime.bigint() - started) / 1e9, (error as Error).name === 'RedisUnavailable' ? 'unavailable' : 'error');
      throw error;
    }
  }
}
