import calculateSlot from 'cluster-key-slot';
import { gcraAnswer, type RateDecision, type RemoteCounters } from '../counters.js';
import type { ClusterClient } from './clients.js';
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
  private readonly rates: RateBatcher;

  constructor(
    private readonly connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly observe: (command: string, seconds: number, outcome: 'ok' | 'error' | 'unavailable') => void = () => undefined,
  ) {
    this.rates = keys.cluster
      ? new RateBatcher(
          (batch, args) =>
            this.timed('gcra', () =>
              connections.run((client) => gcraBySlot(client as ScriptedRedis & ClusterClient, batch, args, (pending) => connections.withinBudget(pending)), { budgeted: true }),
            ),
          true,
        )
      : new RateBatcher((batch, args) => this.timed('gcra', () => connections.run((client) => client.palisadeGcra(batch.length, ...batch, ...args))));
  }

  rate(path: string, limit: number, periodMs: number): Promise<RateDecision> {
    return this.rates.check(this.keys.rate(path), periodMs, limit);
  }

  increment(path: string, windowMs: number, by: number): Promise<number> {
    return this.timed('window', () => this.connections.run((client) => client.palisadeWindowCount(this.keys.window(path), windowMs, by)));
  }

  /** The debt goes in microseconds, the unit of the bucket: fast rates owe fractions of a millisecond per hit. */
  async charge(path: string, periodMs: number, debtMs: number): Promise<void> {
    await this.timed('gcra_charge', () => this.connections.run((client) => client.palisadeGcraCharge(this.keys.rate(path), periodMs, Math.round(debtMs * 1_000))));
  }

  async peek(path: string, limit: number, periodMs: number): Promise<RateDecision> {
    const [now, held] = await this.connections.run((client) => client.palisadeGcraPeek(this.keys.rate(path)));
    // Microseconds on Redis's clock.
    return gcraAnswer(held < 0 ? 0 : held / 1_000, limit, periodMs, now / 1_000);
  }

  async reset(path: string): Promise<void> {
    await this.connections.run((client) => client.del(this.keys.rate(path), this.keys.window(path)));
  }

  /** Runs `run`, observing one command per round trip it made (a cluster batch: one per master). */
  private async timed<T>(command: string, run: () => Promise<T | BySlot<T>>): Promise<T> {
    const started = process.hrtime.bigint();
    try {
      const result = await run();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (result instanceof BySlot) {
        for (let i = 0; i < result.masters; i++) this.observe(command, seconds, 'ok');
        return result.value;
      }
      this.observe(command, seconds, 'ok');
      return result;
    } catch (error) {
      this.observe(command, Number(process.hrtime.bigint() - started) / 1e9, (error as Error).name === 'RedisUnavailable' ? 'unavailable' : 'error');
      throw error;
    }
  }
}

/** A cluster batch's answer, with how many masters (round trips) it took. */
class BySlot<T> {
  constructor(
    readonly value: T,
    readonly masters: number,
  ) {}
}

/**
 * A batch of rate checks on a Redis Cluster: one script call per slot (a script's keys must
 * share one), and the calls bound for one master in one pipeline — one round trip per master,
 * each within the request budget on its own: a master that does not answer fails only its
 * clients' checks (they count locally), never the others'. The whole batch fails (and counts
 * against the breaker) only when no master answered. `args` is the batch's (see gcra.lua):
 * the rates once, then each key's rate when there are several — cut to each slot's keys.
 * (ioredis's auto-pipelining would route a script by its first argument, here the key count:
 * the pipelines are built by hand.)
 */
async function gcraBySlot(
  client: ScriptedRedis & ClusterClient,
  keys: string[],
  args: number[],
  withinBudget: <T>(pending: Promise<T>) => Promise<T>,
): Promise<BySlot<Array<number | undefined>>> {
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
  // Slots by the node group that serves them (master and replicas: what ioredis accepts in one
  // pipeline); a slot not in the map yet goes alone, the cluster client finds it.
  const byNodes = new Map<string, number[][]>();
  for (const [slot, indexes] of bySlot) {
    const nodes = client.slots[slot]?.join(';') ?? `slot:${slot}`;
    const groups = byNodes.get(nodes);
    if (groups) groups.push(indexes);
    else byNodes.set(nodes, [indexes]);
  }
  const replies = new Array<number | undefined>(keys.length);
  let answered = 0;
  let failure: unknown;
  await Promise.all(
    [...byNodes.values()].map(async (groups) => {
      const pipeline = client.pipeline() as unknown as ScriptedRedis;
      for (const indexes of groups) {
        const groupArgs = rateOf ? [rateCount, ...rates, ...indexes.map((i) => rateOf[i]!)] : [rateCount, ...rates];
        void pipeline.palisadeGcra(indexes.length, ...indexes.map((i) => keys[i]!), ...groupArgs);
      }
      try {
        const results = (await withinBudget((pipeline as unknown as ReturnType<ClusterClient['pipeline']>).exec())) ?? [];
        results.forEach(([error, reply], g) => {
          if (error) throw error;
          groups[g]!.forEach((i, j) => (replies[i] = (reply as number[])[j]!));
        });
        answered++;
      } catch (error) {
        failure = error;
      }
    }),
  );
  if (answered === 0 && failure !== undefined) throw failure;
  return new BySlot(replies, byNodes.size);
}
