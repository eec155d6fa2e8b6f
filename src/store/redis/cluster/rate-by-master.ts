import calculateSlot from 'cluster-key-slot';
import type { Logger } from 'pino';
import { describeError } from '../../../log.js';
import type { ClusterClient } from '../clients.js';
import { failedOutcome, secondsSince, type ObserveCommand } from '../command-timing.js';
import type { RedisConnections } from '../connections.js';
import { RateBatcher } from '../rate-batch.js';
import type { ScriptedRedis } from '../scripts.js';
import { MasterBreakers } from './master-breakers.js';

/** How long a cluster that refused one call per master is sent one call per slot. */
const PER_SLOT_MS = 600_000;

type ClusterScripts = ScriptedRedis & ClusterClient;
type Budget = <T>(pending: Promise<T>) => Promise<T>;

/**
 * The rate batcher of the counters on a Redis Cluster: one batch in flight at a time (each
 * costs a round trip per master it touches, so fewer, larger batches save more than they
 * cost), each batch sent as one script call per master ({@link gcraByMaster}) on the
 * request-path pool, within one request budget, and observed as one `gcra` command per round
 * trip (a resting master's skipped call as `unavailable`).
 */
export function clusterRateBatcher(connections: RedisConnections, observe: ObserveCommand, log: Logger | undefined): RateBatcher {
  const byMaster = new RatesByMaster(connections, log);
  return new RateBatcher(
    (batch, args) =>
      timedByMaster(observe, 'gcra', () => connections.run((client) => byMaster.send(client as ClusterScripts, batch, args), { budgeted: true })),
    true,
  );
}

/**
 * Sends the batches of one node's counters: one call per master, or — for {@link PER_SLOT_MS}
 * after the cluster refused such a call — one call per slot; and which masters rest.
 */
class RatesByMaster {
  /** Until when a cluster that refused a call reaching other slots of its master gets one call per slot (epoch ms). */
  private perSlotUntil = 0;
  private readonly masters = new MasterBreakers();

  constructor(
    private readonly connections: RedisConnections,
    private readonly log: Logger | undefined,
  ) {}

  /** One batch through `client` (see {@link gcraByMaster}); throws when no master answered. */
  async send(client: ClusterScripts, keys: string[], args: number[]): Promise<BySlot<Array<number | undefined>>> {
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
}

/** Runs `run`, observing one command per round trip it made (one per master, and any retried slot). */
async function timedByMaster<T>(observe: ObserveCommand, command: string, run: () => Promise<BySlot<T>>): Promise<T> {
  const started = process.hrtime.bigint();
  try {
    const result = await run();
    const seconds = secondsSince(started);
    for (let i = 0; i < result.trips; i++) observe(command, seconds, i < result.failed ? 'error' : 'ok');
    // A resting master's checks were decided locally without a call, as with the breaker open.
    for (let i = 0; i < result.skipped; i++) observe(command, 0, 'unavailable');
    return result.value;
  } catch (error) {
    observe(command, secondsSince(started), failedOutcome(error));
    throw error;
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

/**
 * A batch of rate checks on a Redis Cluster: one script call per master (gcra_local.lua: the
 * buckets of its first slot declared, routing it and checked by Redis as for any command; the
 * others ride along undeclared, in any slot that master holds), each within the request
 * budget on its own: a master that does not answer fails only its clients' checks (they
 * count locally), never the others'. A ride-along bucket the master did not hold after all (a
 * slot moved since the client's map was read) comes back unanswered and untouched, and is
 * checked again in a call of its own slot, which the cluster client routes and redirects; if
 * that fails too, only those checks fail. The whole batch fails (and counts against the
 * breaker) only when no master answered. `args` is the batch's (see gcra_core.lua): the sites
 * and kinds once, then each key's kind when there are several — cut to each call's keys. `perSlot` (a
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
  const [sites, kindCount] = [args[0]!, args[1]!];
  const kinds = args.slice(2, 2 + 3 * kindCount);
  const kindOf = kindCount > 1 ? args.slice(2 + 3 * kindCount) : undefined;
  const argsOf = (indexes: number[]): number[] => (kindOf ? [sites, kindCount, ...kinds, ...indexes.map((i) => kindOf[i]!)] : [sites, kindCount, ...kinds]);
  // Slots by the node group that serves them (master and replicas, as the client's map says);
  // a slot not in the map yet goes alone, the cluster client finds it.
  const bySlot = groupBy(
    keys.map((_, i) => i),
    (i) => calculateSlot(keys[i]!),
  );
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
          await slotCalls(
            client,
            slots.map(([, indexes]) => indexes),
            keys,
            argsOf,
            withinBudget,
            replies,
          );
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

/** One script call per slot group, in one pipeline (the groups share a master): their answers into `replies`. */
async function slotCalls(
  client: ClusterScripts,
  groups: number[][],
  keys: string[],
  argsOf: (indexes: number[]) => number[],
  withinBudget: Budget,
  replies: Array<number | undefined>,
): Promise<void> {
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
