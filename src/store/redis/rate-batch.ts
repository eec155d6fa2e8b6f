import type { RateDecision } from '../types.js';

/**
 * Most checks in one script call: bounds how long one call holds Redis (each check is one
 * or two commands inside the script, a few microseconds) and the size of one command.
 */
export const MAX_RATE_BATCH = 128;

/** Longest a batch waits for the one in flight (with `oneInFlight`). */
const MAX_HOLD_MS = 5;

/**
 * Sends one batch: the bucket keys and the script's arguments (the distinct rates once, then
 * each key's rate only when there are several; see gcra_core.lua); one integer per key back, or
 * `undefined` for a key whose part of the batch failed (a cluster master that did not answer).
 */
export type SendRateBatch = (keys: string[], args: number[]) => Promise<Array<number | undefined>>;

interface QueuedCheck {
  key: string;
  periodMs: number;
  limit: number;
  resolve(reply: RateDecision): void;
  reject(error: unknown): void;
}

/**
 * Rate checks gathered over one event-loop turn and sent as one script call: under load the
 * requests parsed in the same turn share one command, one Lua invocation and one TIME call
 * instead of paying for them each, while each check stays atomic in Redis and in arrival
 * order — the decisions are exactly those of one call per check. A lone request waits for
 * nothing: its batch leaves at the end of the turn it arrived in.
 *
 * A failed call rejects every check of its batch (the caller then counts locally).
 */
export class RateBatcher {
  private queue: QueuedCheck[] = [];
  private scheduled = false;
  private inFlight = 0;
  private holding: NodeJS.Timeout | undefined;
  private readonly flush = (force = false): void => {
    this.scheduled = false;
    // With one batch in flight at a time, the checks that arrive meanwhile wait for it and
    // go out together: fewer, larger batches. Never longer than MAX_HOLD_MS: a batch stuck
    // on a failing master must not make the next one wait its whole budget too.
    if (this.oneInFlight && this.inFlight > 0 && !force) {
      this.holding ??= setTimeout(() => this.flush(true), MAX_HOLD_MS);
      return;
    }
    clearTimeout(this.holding);
    this.holding = undefined;
    if (this.queue.length === 0) return;
    const queue = this.queue;
    this.queue = [];
    for (let start = 0; start < queue.length; start += MAX_RATE_BATCH) this.sendBatch(queue.slice(start, start + MAX_RATE_BATCH));
  };

  /**
   * `oneInFlight`: hold the next batch until the one in flight is answered — for a Redis
   * Cluster, where every batch costs a round trip per master it touches, so fewer batches
   * save more than they cost (at most one round trip of waiting).
   */
  constructor(
    private readonly send: SendRateBatch,
    private readonly oneInFlight = false,
  ) {}

  /** One hit on `key`: at most `limit` per `periodMs`. */
  check(key: string, periodMs: number, limit: number): Promise<RateDecision> {
    return new Promise<RateDecision>((resolve, reject) => {
      this.queue.push({ key, periodMs, limit, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private sendBatch(batch: QueuedCheck[]): void {
    // Every argument is encoded by ioredis and parsed by Redis: rates go once per batch
    // (there is usually one), and then the keys carry no per-key arguments at all.
    const rates: number[] = [];
    const keys = new Array<string>(batch.length);
    const rateOf = new Array<number>(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const check = batch[i]!;
      keys[i] = check.key;
      let rate = 0;
      while (rate < rates.length && (rates[rate] !== check.periodMs || rates[rate + 1] !== check.limit)) rate += 2;
      if (rate === rates.length) rates.push(check.periodMs, check.limit);
      rateOf[i] = rate / 2 + 1;
    }
    const args = rates.length === 2 ? [1, ...rates] : [rates.length / 2, ...rates, ...rateOf];
    this.inFlight++;
    const settled = (): void => {
      this.inFlight--;
      if (this.queue.length > 0 && !this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    };
    this.send(keys, args).finally(settled).then(
      (reply) => {
        for (let i = 0; i < batch.length; i++) {
          const value = reply[i];
          if (value === undefined) batch[i]!.reject(new Error('the rate check did not get an answer from its master'));
          else batch[i]!.resolve(value >= 0 ? { allowed: true, retryAfterMs: 0, remaining: value } : { allowed: false, retryAfterMs: -value, remaining: 0 });
        }
      },
      (error: unknown) => {
        for (const check of batch) check.reject(error);
      },
    );
  }
}
