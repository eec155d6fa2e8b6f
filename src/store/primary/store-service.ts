import type { Logger } from 'pino';
import { PalisadeError } from '../../errors.js';
import { describeError } from '../../log.js';
import type { Served } from '../served.js';
import type { BanChange, StoreHealth } from '../types.js';
import {
  HOT_CALLS,
  encodeBanEntries,
  fromWire,
  onStoreMessage,
  toWire,
  type Call,
  type CallError,
  type Channel,
  type Facet,
  type PrimaryRemotes,
  type Result,
} from './protocol.js';

/** Ban entries per message of a worker's initial load. */
const ENTRIES_PER_MESSAGE = 10_000;
/** Messages of the initial load on their way at once. */
const LOAD_WINDOW = 4;
/** How often the store's health is compared and, when it changed, told to the worker. */
const HEALTH_MS = 1_000;

/** What the primary serves its workers: every facet's remote part, and what the ban stream needs. */
export interface ServedStore {
  readonly remotes: { readonly [F in Facet]: Served<PrimaryRemotes[F]> };
  readonly bans: {
    /** Every active ban as `[target, expiry]`, walked without building records. */
    entries(): Iterator<readonly [string, number | null]>;
    addHits(target: string, count: number): void;
    onChange(listener: (change: BanChange) => void): () => void;
  };
  health(): StoreHealth;
}

/**
 * The primary's side of one worker: answers its calls from the node's store (answers of one
 * turn in one message), streams it every ban once it asks, then every change in order, and
 * takes its ban hit counts. Changes made while the initial load is under way are held and
 * sent after it, so the worker ends on the newest state of every target.
 */
export class StoreService {
  private results: Result[] = [];
  private changes: BanChange[] | undefined;
  /** Changes held while the initial load streams; undefined before the worker asked for it. */
  private heldChanges: BanChange[] | undefined;
  private loading = false;
  private health: StoreHealth;
  private readonly stops: Array<() => void> = [];
  /** The last `changes` message sent, and the last the worker said it enforces. */
  private sent = 0;
  private acknowledged = 0;
  private readonly waiting: Array<{ upTo: number; resolve: () => void }> = [];
  private closed = false;

  /**
   * `afterLoad` runs with the number of bans once the worker's initial load streamed them
   * (a full collection, when no request waits on this process).
   */
  constructor(
    private readonly store: ServedStore,
    private readonly channel: Channel,
    private readonly log: Logger,
    private readonly afterLoad?: (bans: number) => void,
  ) {
    this.health = store.health();
    this.stops.push(
      onStoreMessage(channel, (message) => {
        if (message.t === 'calls') this.answer(message.c);
        else if (message.t === 'load') this.startLoad();
        else if (message.t === 'hits') for (const [target, count] of message.h) store.bans.addHits(target, count);
        else if (message.t === 'applied') this.acknowledge(message.s);
      }),
    );
    const timer = setInterval(() => this.checkHealth(), HEALTH_MS);
    timer.unref();
    this.stops.push(() => clearInterval(timer));
  }

  /** Stops serving this worker (it exited or is being replaced). */
  close(): void {
    for (const stop of this.stops.splice(0)) stop();
    this.closed = true;
    this.acknowledge(Infinity);
  }

  /**
   * Resolves once the worker enforces every ban change made on the node so far (at once for
   * a worker still loading: it applies them before it serves, and for one closed).
   */
  enforced(): Promise<void> {
    const upTo = this.changes !== undefined ? this.sent + 1 : this.sent;
    if (this.loading || this.closed || this.acknowledged >= upTo) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ upTo, resolve }));
  }

  private acknowledge(upTo: number): void {
    this.acknowledged = Math.max(this.acknowledged, upTo);
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const waiter = this.waiting[i]!;
      if (waiter.upTo > this.acknowledged) continue;
      this.waiting.splice(i, 1);
      waiter.resolve();
    }
  }

  /**
   * Answers a batch: hot calls (rate checks) together once they all settled — one message
   * back per batch — the others as each settles, with whatever else is ready that turn.
   */
  private answer(calls: Call[]): void {
    const hot: Array<Result | Promise<Result>> = [];
    for (const [id, method, args] of calls) {
      const result = this.call(id, method, args);
      if (HOT_CALLS.has(method)) hot.push(result);
      else if (result instanceof Promise) void result.then((settled) => this.reply(settled));
      else this.reply(result);
    }
    if (hot.length === 0) return;
    if (hot.every((result) => !(result instanceof Promise))) for (const result of hot as Result[]) this.reply(result);
    else void Promise.all(hot).then((results) => results.forEach((result) => this.reply(result)));
  }

  /** One call's result, never a rejection: `<facet>.<method>` of the served remotes. */
  private call(id: number, method: string, args: unknown[]): Result | Promise<Result> {
    let value: unknown;
    try {
      const dot = method.indexOf('.');
      const facet = (this.store.remotes as Record<string, Record<string, unknown> | undefined>)[method.slice(0, dot)];
      const name = method.slice(dot + 1);
      const fn = facet?.[name];
      if (typeof fn !== 'function' || name === 'constructor') throw new Error(`no such call: ${method}`);
      value = (fn as (...a: unknown[]) => unknown).apply(facet, args.map(fromWire));
    } catch (error) {
      return [id, 0, callError(error)];
    }
    if (!(value instanceof Promise)) return [id, 1, toWire(value)];
    return value.then(
      (settled: unknown): Result => [id, 1, toWire(settled)],
      (error: unknown): Result => [id, 0, callError(error)],
    );
  }

  /** Queues one answer; the answers of a turn leave together. */
  private reply(result: Result): void {
    this.results.push(result);
    if (this.results.length === 1) setImmediate(this.sendResults);
  }

  private readonly sendResults = (): void => {
    const results = this.results;
    this.results = [];
    if (results.length > 0) this.channel.send({ t: 'results', r: results });
  };

  /**
   * Streams every active ban's entry, paced by the channel (the next message once the last
   * one left), then whatever changed meanwhile: the walk over the table builds no record.
   */
  private startLoad(): void {
    if (this.loading || this.heldChanges !== undefined) return;
    this.loading = true;
    this.heldChanges = [];
    this.stops.push(this.store.bans.onChange((change) => this.push(change)));
    const walk = this.store.bans.entries();
    let sent = 0;
    let inFlight = 0;
    let walked = false;
    // A few messages on their way at once: the worker parses one while the next is built.
    const next = (): void => {
      while (!walked && inFlight < LOAD_WINDOW) {
        const { text, count, done } = encodeBanEntries(walk, ENTRIES_PER_MESSAGE);
        walked = done;
        if (count === 0) break;
        sent += count;
        inFlight++;
        this.channel.send({ t: 'entries', e: text }, () => {
          inFlight--;
          next();
        });
      }
      if (!walked || inFlight > 0 || !this.loading) return;
      this.channel.send({ t: 'loaded' });
      this.loading = false;
      const held = this.heldChanges ?? [];
      this.heldChanges = [];
      if (held.length > 0) this.channel.send({ t: 'changes', c: held, s: ++this.sent });
      this.log.debug({ bans: sent }, 'worker loaded its bans');
      this.afterLoad?.(sent);
    };
    next();
  }

  /** A change on the node: to the worker with the other changes of this turn. */
  private push(change: BanChange): void {
    if (this.loading) {
      this.heldChanges!.push(change);
      return;
    }
    if (this.changes === undefined) {
      this.changes = [];
      setImmediate(this.sendChanges);
    }
    this.changes.push(change);
  }

  private readonly sendChanges = (): void => {
    const changes = this.changes;
    this.changes = undefined;
    if (changes && changes.length > 0) this.channel.send({ t: 'changes', c: changes, s: ++this.sent });
  };

  private checkHealth(): void {
    const health = this.store.health();
    if (health.mode === this.health.mode && health.detail === this.health.detail && health.bansLoading === this.health.bansLoading) return;
    this.health = health;
    try {
      this.channel.send({ t: 'health', health });
    } catch (error) {
      this.log.debug({ err: describeError(error) }, 'health not sent to a worker');
    }
  }
}

function callError(error: unknown): CallError {
  return error instanceof PalisadeError ? { code: error.code, message: error.message } : { message: describeError(error) };
}
