import calculateSlot from 'cluster-key-slot';
import type { Logger } from 'pino';
import { describeError } from '../../log.js';
import { gcraAnswer, type RateDecision, type RemoteCounters } from '../counters.js';
import type { ClusterClient } from './clients.js';
import type { ScriptedRedis } from './scripts.js';
import type { RedisConnections } from './connections.js';
import type { RedisKeys } from './keys.js';
import { RateBatcher } from './rate-batch.js';

/** How long a cluster that refused one call per master is sent one call per slot. */
const PER_SLOT_MS = 600_000;

/**
 * Counters in Redis through the request-path pool, within `REDIS_REQUEST_TIMEOUT`, skipped
 * entirely while the breaker is open (the facade then counts locally). Rate checks of one
 * event-loop turn share one script call ({@link RateBatcher}); `observe` sees each call.
 */
export class RedisCounters implements RemoteCounters {
  private readonly rates: RateBatcher;
  /** Until when a cluster that refused a call reaching other slots of its master gets one call per slot (epoch ms). */
  private perSlotUntil = 0;
  private readonly masters = new MasterBreakers();

  constructor(
    private readonly connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly observe: (command: string, seconds: number, outcome: 'ok' | 'error' | 'unavailable') => void = () => undefined,
    private readonly log?: Logger,
  ) {
    this.rates = keys.cluster
      ? new RateBatcher((batch, args) => this.timed('gcra', () => connections.run((client) => this.clusterBatch(client as ClusterScripts, batch, args), { budgeted: true })), true)
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

  private async clusterBatch(client: ClusterScripts, keys: string[], args: number[]): Promise<BySlot<Array<number | undefined>>> {
    // One budget for the batch: a retry of strays gets what its master's call left of it, so
    // no check waits on Redis longer than a request may.
    const deadline = Date.now() + this.connections.requestBudgetMs;
    const withinBudget: Budget = (pending) => this.connections.withinBudget(pending, deadline);
    const perSlot = Date.now() < this.perSlotUntil;
    try {
      return await gcraByMaster(client, keys, args, withinBudget, perSlot, this.masters);
    } catch (error) {
      // A server's own refusal ("ERR …", not OOM, BUSY or a redirect) of every call per
      // master: a Cluster offering that refuses a script reaching keys it did not declare.
      // Tried again after a while: the refusal may have been a passing one.
      // (Another batch in flight may have switched already: said once.)
      if (perSlot || Date.now() < this.perSlotUntil || (error as Error).name !== 'ReplyError' || !/^ERR /.test((error as Error).message)) throw error;
      this.perSlotUntil = Date.now() + PER_SLOT_MS;
      this.log?.warn(
        { err: describeError(error), forMs: PER_SLOT_MS },
        'the Redis Cluster refused one rate-check call per master: sending one call per slot for a while (more Redis work per request, the same decisions)',
      );
      throw error;
    }
  }

  /** Runs `run`, observing one command per round trip it made (a cluster batch: one per master). */
  private async timed<T>(command: string, run: () => Promise<T | BySlot<T>>): Promise<T> {
    const started = process.hrtime.bigint();
    try {
      const result = await run();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (result instanceof BySlot) {
        for (let i = 0; i < result.trips; i++) this.observe(command, seconds, i < result.failed ? 'error' : 'ok');
        // A resting master's checks were decided locally without a call, as with the breaker open.
        for (let i = 0; i < result.skipped; i++) this.observe(command, 0, 'unavailable');
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

/**
 * A cluster batch's answer, with how many round trips it took (one per master, and any retried
 * slot), how many of them failed, and how many masters were skipped (resting: not called).
 */
class BySlot<T> {
  constructor(
    readonly value: T,
    readonly trips: number,
    readonly skipped: number,
    readonly failed: number,
  ) {}
}

type ClusterScripts = ScriptedRedis & ClusterClient;
type Budget = <T>(pending: Promise<T>) => Promise<T>;

/**
 * A batch of rate checks on a Redis Cluster: one script call per master (gcra_local.lua: the
 * buckets of its first slot declared, routing it and checked by Redis as for any command; the
 * others ride along undeclared, in any slot that master holds), each within the request
 * budget on its own: a master that does not answer fails only its clients' checks (they
 * count locally), never the others'. A ride-along bucket the master did not hold after all (a
 * slot moved since the client's map was read) comes back unanswered and untouched, and is
 * checked again in a call of its own slot, which the cluster client routes and redirects; if
 * that fails too, only those checks fail. The whole batch fails (and counts against the
 * breaker) only when no master answered. `args` is the batch's (see gcra_core.lua): the rates
 * once, then each key's rate when there are several — cut to each call's keys. `perSlot` (a
 * cluster that refused such a call) sends one script call per slot instead, the calls of a
 * master in one pipeline.
 */
async function gcraByMaster(
  client: ClusterScripts,
  keys: string[],
  args: number[],
  withinBudget: Budget,
  perSlot: boolean,
  masters: MasterBreakers,
): Promise<BySlot<Array<number | undefined>>> {
  const rateCount = args[0]!;
  const rates = args.slice(1, 1 + 2 * rateCount);
  const rateOf = rateCount > 1 ? args.slice(1 + 2 * rateCount) : undefined;
  const argsOf = (indexes: number[]): number[] => (rateOf ? [rateCount, ...rates, ...indexes.map((i) => rateOf[i]!)] : [rateCount, ...rates]);
  // Slots by the node group that serves them (master and replicas, as the client's map says);
  // a slot not in the map yet goes alone, the cluster client finds it.
  const bySlot = groupBy(keys.map((_, i) => i), (i) => calculateSlot(keys[i]!));
  const byNodes = groupBy([...bySlot], ([slot]) => client.slots[slot]?.join(';') ?? `slot:${slot}`);
  const replies = new Array<number | undefined>(keys.length);
  let answered = 0;
  let trips = 0;
  let skipped = 0;
  let failed = 0;
  let failure: unknown;
  const now = Date.now();
  await Promise.all(
    [...byNodes].map(async ([node, slots]) => {
      // A master that keeps failing and cannot be reached is not waited on.
      if (masters.resting(client, node, now)) return void skipped++;
      trips++;
      try {
        if (perSlot) {
          await slotCalls(client, slots.map(([, indexes]) => indexes), keys, argsOf, withinBudget, replies);
          answered++;
          masters.answered(node);
          return;
        }
        // Each bucket's checks stay in arrival order: they are all in one slot's group.
        const [declared, ...rest] = slots.map(([, indexes]) => indexes);
        const others = rest.flat();
        const indexes = [...declared!, ...others];
        const reply = await withinBudget(
          client.palisadeGcraLocal(declared!.length, ...declared!.map((i) => keys[i]!), others.length, ...others.map((i) => keys[i]!), ...argsOf(indexes)),
        );
        answered++;
        masters.answered(node);
        const strays: number[] = [];
        indexes.forEach((i, j) => (reply[j] === null || reply[j] === undefined ? strays.push(i) : (replies[i] = reply[j])));
        if (strays.length === 0) return;
        const straySlots = [...groupBy(strays, (i) => calculateSlot(keys[i]!)).values()];
        trips += straySlots.length;
        // A failed retry leaves only its own checks unanswered (they count locally).
        await Promise.all(straySlots.map((group) => slotCalls(client, [group], keys, argsOf, withinBudget, replies).catch(() => void failed++)));
      } catch (error) {
        failed++;
        failure = error;
        masters.failed(node, Date.now());
      }
    }),
  );
  if (answered === 0 && failure !== undefined) throw failure;
  return new BySlot(replies, trips, skipped, failed);
}

/** Calls in a row a master may fail before its checks count locally without a call. */
const MASTER_FAILURES = 3;
/** How often such a master is asked anyway (the call that makes the client reconnect). */
const MASTER_RETRY_MS = 1_000;

/**
 * Per master of a Redis Cluster (its node group in the slot map): after {@link MASTER_FAILURES}
 * calls in a row failed while the client has no ready connection to it (a master killed,
 * until a failover gives its slots to another), its clients' checks count locally at once
 * instead of waiting a budget on it, but for one batch a second that tries it again; the other
 * masters' checks stay shared, which the node's breaker (one for all of Redis) cannot do. A
 * master that is reachable but refusing for a moment (a slot moving during a reshard) is
 * still asked: its answers keep the limits exact.
 */
class MasterBreakers {
  private readonly state = new Map<string, { failures: number; triedAt: number }>();

  resting(client: ClusterScripts, node: string, now: number): boolean {
    const state = this.state.get(node);
    if (state === undefined || state.failures < MASTER_FAILURES || connectionReady(client, node)) return false;
    if (now - state.triedAt < MASTER_RETRY_MS) return true;
    state.triedAt = now;
    return false;
  }

  failed(node: string, now: number): void {
    const state = this.state.get(node) ?? { failures: 0, triedAt: now };
    state.failures++;
    this.state.set(node, state);
  }

  answered(node: string): void {
    this.state.delete(node);
  }
}

/**
 * True when the cluster client holds a ready connection to the master of `node`. After a
 * master died, ioredis keeps a fresh, unconnected one for it while the slot map names it.
 */
function connectionReady(client: ClusterScripts, node: string): boolean {
  const address = node.split(';')[0];
  return client.nodes('master').some((n) => `${n.options.host}:${n.options.port}` === address && n.status === 'ready');
}

/** One script call per slot group, in one pipeline (the groups share a master): their answers into `replies`. */
async function slotCalls(client: ClusterScripts, groups: number[][], keys: string[], argsOf: (indexes: number[]) => number[], withinBudget: Budget, replies: Array<number | undefined>): Promise<void> {
  const pipeline = client.pipeline() as unknown as ScriptedRedis;
  for (const indexes of groups) void pipeline.palisadeGcra(indexes.length, ...indexes.map((i) => keys[i]!), ...argsOf(indexes));
  const results = (await withinBudget((pipeline as unknown as ReturnType<ClusterClient['pipeline']>).exec())) ?? [];
  results.forEach(([error, reply], g) => {
    if (error) throw error;
    groups[g]!.forEach((i, j) => (replies[i] = (reply as number[])[j]!));
  });
}

/** `items` grouped by `keyOf`, in the order of their first appearance, each group in order. */
function groupBy<T, K>(items: Iterable<T>, keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
