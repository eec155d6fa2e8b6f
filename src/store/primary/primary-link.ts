import { PalisadeError, errorCodes, type ErrorCode } from '../../errors.js';
import {
  HOT_CALLS,
  fromWire,
  onStoreMessage,
  toWire,
  type Call,
  type Channel,
  type Facet,
  type Method,
  type PrimaryRemotes,
  type Result,
  type StoreMessage,
} from './protocol.js';

/**
 * Longest a hot call waits for the batch before it to come back: a safety valve only, the
 * primary answers a batch within its Redis budget.
 */
const HOLD_MS = 10;
/** A call the primary has not answered by then is failed (the caller degrades). */
const CALL_TIMEOUT_MS = 5_000;

interface Waiting {
  resolve(value: unknown): void;
  reject(error: Error): void;
  hot: boolean;
  sentAt: number;
}

/**
 * A worker's calls to its primary: every call of one event-loop turn travels in one
 * message, and hot calls (rate checks) wait while a batch of them is in flight, so under
 * load one message carries the checks of every request that arrived
 * during a round trip. The primary answers the hot calls of a batch in one message. A call
 * unanswered after {@link CALL_TIMEOUT_MS} rejects: callers fall back to counting in the
 * worker, as the store does when Redis fails.
 */
export class PrimaryLink {
  private nextId = 1;
  private queue: Call[] = [];
  private queueIsHot = true;
  private readonly waiting = new Map<number, Waiting>();
  private hotInFlight = 0;
  private scheduled = false;
  private holdTimer: NodeJS.Timeout | undefined;
  private readonly sweeper: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly channel: Channel,
    private readonly now: () => number = Date.now,
  ) {
    this.unsubscribe = onStoreMessage(channel, (message) => {
      if (message.t === 'results') this.settle(message.r);
    });
    this.sweeper = setInterval(() => this.expire(), 1_000);
    this.sweeper.unref();
  }

  /**
   * The primary's `facet` as the contract's remote part: each method a call to the primary
   * (`<facet>.<method>`), so a method added to the contract needs nothing here.
   */
  remote<F extends Facet>(facet: F): PrimaryRemotes[F] {
    const methods = new Map<string, (...args: unknown[]) => Promise<unknown>>();
    return new Proxy({} as PrimaryRemotes[F], {
      get: (_, method) => {
        if (typeof method !== 'string') return undefined;
        let call = methods.get(method);
        if (call === undefined) methods.set(method, (call = (...args: unknown[]) => this.call(`${facet}.${method}` as Method, args)));
        return call;
      },
    });
  }

  /** Calls `method` in the primary; rejects when it fails there, times out or the link closed. */
  call(method: Method, args: unknown[]): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the link to the primary is closed'));
    const id = this.nextId++;
    const hot = HOT_CALLS.has(method);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: (value) => resolve(fromWire(value)), reject, hot, sentAt: 0 });
      this.queue.push([id, method, args.map(toWire)]);
      if (!hot) this.queueIsHot = false;
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  /** Sends a message that needs no answer (hits). */
  post(message: StoreMessage): void {
    if (!this.closed) this.channel.send(message);
  }

  /** Fails every waiting call and stops. */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    clearInterval(this.sweeper);
    clearTimeout(this.holdTimer);
    for (const waiting of this.waiting.values()) waiting.reject(new Error('the link to the primary is closed'));
    this.waiting.clear();
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    // Hot calls only, with a batch of them still out: wait for it (bounded), collect more.
    if (this.queueIsHot && this.hotInFlight > 0) {
      this.holdTimer ??= setTimeout(this.release, HOLD_MS);
      return;
    }
    this.send();
  };

  private readonly release = (): void => {
    this.holdTimer = undefined;
    this.send();
  };

  private send(): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    if (this.queue.length === 0 || this.closed) return;
    const calls = this.queue;
    this.queue = [];
    this.queueIsHot = true;
    const at = this.now();
    for (const [id] of calls) {
      const waiting = this.waiting.get(id);
      if (!waiting) continue;
      waiting.sentAt = at;
      if (waiting.hot) this.hotInFlight++;
    }
    this.channel.send({ t: 'calls', c: calls });
  }

  private settle(results: Result[]): void {
    for (const [id, ok, value] of results) {
      const waiting = this.waiting.get(id);
      if (!waiting) continue;
      this.waiting.delete(id);
      if (waiting.hot) this.hotInFlight--;
      if (ok === 1) waiting.resolve(value);
      else
        waiting.reject(
          value.code !== undefined && value.code in errorCodes ? new PalisadeError(value.code as ErrorCode, value.message) : new Error(value.message),
        );
    }
    if (this.hotInFlight === 0 && this.holdTimer !== undefined) this.send();
  }

  private expire(): void {
    const deadline = this.now() - CALL_TIMEOUT_MS;
    for (const [id, waiting] of this.waiting) {
      if (waiting.sentAt === 0 || waiting.sentAt > deadline) continue;
      this.waiting.delete(id);
      if (waiting.hot) this.hotInFlight--;
      waiting.reject(new Error('the primary did not answer in time'));
    }
  }
}
