/**
 * Most operations in one script call: bounds how long one call holds Redis (each is two
 * commands inside the script, a few microseconds) and the size of one command.
 */
export const MAX_RATE_BATCH = 128;

/** Longest a batch waits for the one in flight (with `oneInFlight`). */
const MAX_HOLD_MS = 5;

/**
 * Sends one batch: the bucket keys and the script's arguments (the sites, the distinct kinds
 * of operation once, then each key's kind only when there are several; see gcra_core.lua); one
 * integer per key back, or `undefined` for a key whose part of the batch failed (a cluster
 * master that did not answer).
 */
export type SendRateBatch = (keys: string[], args: number[]) => Promise<Array<number | undefined>>;

interface QueuedOperation {
  key: string;
  periodMs: number;
  limit: number;
  /** 0: a lease asked for; more: hits given back. */
  returned: number;
  sites: number;
  resolve(reply: number): void;
  reject(error: unknown): void;
}

/**
 * Lease operations gathered over one event-loop turn and sent as one script call (gcra.lua):
 * the leases asked for and the hits given back in the same turn share one command, one Lua
 * invocation and one TIME call, while each operation stays atomic in Redis and in arrival
 * order — the answers are exactly those of one call per operation. A lone operation waits for
 * nothing: its batch leaves at the end of the turn it arrived in.
 *
 * A failed call rejects every operation of its batch (the caller then decides locally).
 */
export class RateBatcher {
  private queue: QueuedOperation[] = [];
  private scheduled = false;
  private inFlight = 0;
  private holding: NodeJS.Timeout | undefined;
  private readonly flush = (force = false): void => {
    this.scheduled = false;
    // With one batch in flight at a time, the operations that arrive meanwhile wait for it and
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
   * `oneInFlight`: hold the next batch until the one in flight is answered: fewer, larger
   * batches (on a Redis Cluster every batch costs a round trip per master it touches) for at
   * most one round trip of waiting, which only a site out of lease hits pays.
   */
  constructor(
    private readonly send: SendRateBatch,
    private readonly oneInFlight = false,
  ) {}

  /**
   * A lease on `key` (at most `limit` hits per `periodMs`), its size a share of what the
   * bucket has left over `sites` sites: the hits granted (≥ 1), or minus the milliseconds
   * until one would be.
   */
  lease(key: string, periodMs: number, limit: number, sites: number): Promise<number> {
    return this.enqueue(key, periodMs, limit, 0, sites);
  }

  /** Gives `hits` of a lease on `key` back (the bucket's arrival time moves back, never behind now). */
  async giveBack(key: string, periodMs: number, limit: number, hits: number): Promise<void> {
    await this.enqueue(key, periodMs, limit, hits, 1);
  }

  private enqueue(key: string, periodMs: number, limit: number, returned: number, sites: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ key, periodMs, limit, returned, sites, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private sendBatch(batch: QueuedOperation[]): void {
    // Every argument is encoded by ioredis and parsed by Redis: kinds go once per batch
    // (there is usually one), and then the keys carry no per-key arguments at all.
    const kinds: number[] = [];
    const keys = new Array<string>(batch.length);
    const kindOf = new Array<number>(batch.length);
    let sites = 1;
    for (let i = 0; i < batch.length; i++) {
      const operation = batch[i]!;
      keys[i] = operation.key;
      if (operation.sites > sites) sites = operation.sites;
      let kind = 0;
      while (kind < kinds.length && (kinds[kind] !== operation.periodMs || kinds[kind + 1] !== operation.limit || kinds[kind + 2] !== operation.returned))
        kind += 3;
      if (kind === kinds.length) kinds.push(operation.periodMs, operation.limit, operation.returned);
      kindOf[i] = kind / 3 + 1;
    }
    const args = kinds.length === 3 ? [sites, 1, ...kinds] : [sites, kinds.length / 3, ...kinds, ...kindOf];
    this.inFlight++;
    const settled = (): void => {
      this.inFlight--;
      if (this.queue.length > 0 && !this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    };
    this.send(keys, args)
      .finally(settled)
      .then(
        (reply) => {
          for (let i = 0; i < batch.length; i++) {
            const value = reply[i];
            if (value === undefined) batch[i]!.reject(new Error('the lease operation did not get an answer from its master'));
            else batch[i]!.resolve(value);
          }
        },
        (error: unknown) => {
          for (const operation of batch) operation.reject(error);
        },
      );
  }
}
