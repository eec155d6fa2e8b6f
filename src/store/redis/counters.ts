import calculateSlot from 'cluster-key-slot';
import type { RateDecision, RemoteCounters } from '../counters.js';
import type { ScriptedRedis } from './scripts.js';
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
    this.timed('gcra', () => this.connections.run((client) => (this.keys.cluster ? gcraBySlot(client, keys, args) : client.palisadeGcra(keys.length, ...keys, ...args)))),
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

/**
 * A batch of rate checks on a Redis Cluster: one script call per slot (a script's keys must
 * share one), issued together so the cluster client pipelines the calls bound for one master
 * into one round trip. `args` is the batch's (see gcra.lua): the rates once, then each key's
 * rate when there are several — cut to each slot's keys.
 */
async function gcraBySlot(client: ScriptedRedis, keys: string[], args: number[]): Promise<number[]> {
  const rateCount = args[0]!;
  const rates = args.slice(1, 1 + 2 * rateCount);
  const rateOf = rateCount > 1 ? args.slice(1 + 2 * rateCount) : undefined;
  const bySlot = new Map<number, number[]>();
  keys.forEach((key, i) => {
    const slot = calculateSlot(key);
    const group = bySlot.get(slot);
    if (group) group.push(i);
    else bySlot.set(slot, [i]);
  });
  const replies = new Array<number>(keys.length);
  await Promise.all(
    [...bySlot.values()].map(async (indexes) => {
      const groupArgs = rateOf ? [rateCount, ...rates, ...indexes.map((i) => rateOf[i]!)] : [rateCount, ...rates];
      const reply = await client.palisadeGcra(indexes.length, ...indexes.map((i) => keys[i]!), ...groupArgs);
      indexes.forEach((i, j) => (replies[i] = reply[j]!));
    }),
  );
  return replies;
}
