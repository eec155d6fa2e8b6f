import type { Logger } from 'pino';
import { describeError } from '../log.js';
import type { NodeStore } from '../store/store.js';
import type { BanChange, StoreHealth } from '../store/types.js';
import { PalisadeError } from '../errors.js';
import { HOT_CALLS } from './primary-link.js';
import type { Call, CallError, Calls, Channel, Method, Result } from './protocol.js';

/** Ban entries per message of a worker's initial load. */
const ENTRIES_PER_MESSAGE = 10_000;
/** Messages of the initial load on their way at once. */
const LOAD_WINDOW = 4;
/** How often the store's health is compared and, when it changed, told to the worker. */
const HEALTH_MS = 1_000;

type Handlers = { [M in Method]: (...args: Parameters<Calls[M]>) => ReturnType<Calls[M]> | Promise<ReturnType<Calls[M]>> };

/**
 * The primary's side of one worker: answers its calls from the node's store (answers of one
 * turn in one message), streams it every ban once it asks, then every change in order, and
 * takes its ban hit counts. Changes made while the initial load is under way are held and
 * sent after it, so the worker ends on the newest state of every target.
 */
export class StoreService {
  private readonly handlers: Handlers;
  private results: Result[] = [];
  private changes: BanChange[] | undefined;
  /** Changes held while the initial load streams; undefined before the worker asked for it. */
  private heldChanges: BanChange[] | undefined;
  private loading = false;
  private health: StoreHealth;
  private readonly stops: Array<() => void> = [];

  /**
   * `afterLoad` runs with the number of bans once the worker's initial load streamed them
   * (a full collection, when no request waits on this process).
   */
  constructor(
    private readonly store: NodeStore,
    private readonly channel: Channel,
    private readonly log: Logger,
    private readonly afterLoad?: (bans: number) => void,
  ) {
    this.health = store.health();
    this.handlers = {
      // Synchronous when no round trip is needed (local store, known offender): answered this turn.
      rate: (path, limit, periodMs, degraded) => store.counters.checkPath(path, limit, periodMs, degraded),
      increment: (path, windowMs, by) => store.counters.byPath.increment(path, windowMs, by),
      reset: async (path) => (await store.counters.byPath.reset(path), null),
      'session.get': async (id, touchIdleMs) => (await store.sessions.get(id, touchIdleMs ?? undefined)) ?? null,
      'session.set': async (id, record, ttlMs) => (await store.sessions.set(id, record, ttlMs), null),
      'session.destroy': async (id) => (await store.sessions.destroy(id), null),
      'lock.acquire': (name, token, ttlMs) => store.locks.byToken.acquire(name, token, ttlMs),
      'lock.release': async (name, token) => (await store.locks.byToken.release(name, token), null),
      'metrics.push': async (deltas) => (await store.metrics.asRemote.push(new Map(deltas)), null),
      'metrics.totals': async () => [...(await store.metrics.asRemote.totals())],
      'ban.add': (request, waitMs) => store.bans.add(request, waitMs === null ? {} : { waitMs }),
      'ban.remove': (target, actor, waitMs) => store.bans.remove(target, actor, waitMs === null ? {} : { waitMs }),
      'audit.list': (limit) => store.audit.list(limit),
    };
    this.stops.push(
      channel.onMessage((message) => {
        if (message.t === 'calls') this.answer(message.c);
        else if (message.t === 'load') this.startLoad();
        else if (message.t === 'hits') for (const [target, count] of message.h) store.bans.addHits(target, count);
      }),
    );
    const timer = setInterval(() => this.checkHealth(), HEALTH_MS);
    timer.unref();
    this.stops.push(() => clearInterval(timer));
  }

  /** Stops serving this worker (it exited or is being replaced). */
  close(): void {
    for (const stop of this.stops.splice(0)) stop();
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

  /** One call's result, never a rejection. */
  private call(id: number, method: Method, args: unknown[]): Result | Promise<Result> {
    let value: unknown;
    try {
      value = (this.handlers[method] as (...a: unknown[]) => unknown)(...args);
    } catch (error) {
      return [id, 0, callError(error)];
    }
    if (!(value instanceof Promise)) return [id, 1, value ?? null];
    return value.then(
      (settled: unknown): Result => [id, 1, settled ?? null],
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
    const walk = this.store.ledger.table.entries();
    let sent = 0;
    let inFlight = 0;
    let walked = false;
    // A few messages on their way at once: the worker parses one while the next is built.
    const next = (): void => {
      while (!walked && inFlight < LOAD_WINDOW) {
        let lines = '';
        let count = 0;
        while (count < ENTRIES_PER_MESSAGE) {
          const step = walk.next();
          if (step.done) {
            walked = true;
            break;
          }
          const [target, expiresAt] = step.value;
          lines += `${target} ${expiresAt ?? '-'}\n`;
          count++;
        }
        if (count === 0) break;
        sent += count;
        inFlight++;
        this.channel.send({ t: 'entries', e: lines }, () => {
          inFlight--;
          next();
        });
      }
      if (!walked || inFlight > 0 || !this.loading) return;
      this.channel.send({ t: 'loaded' });
      this.loading = false;
      const held = this.heldChanges ?? [];
      this.heldChanges = [];
      if (held.length > 0) this.channel.send({ t: 'changes', c: held });
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
    if (changes && changes.length > 0) this.channel.send({ t: 'changes', c: changes });
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
