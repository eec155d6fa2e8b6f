import type { Logger } from 'pino';
import { describeError } from '../../log.js';
import { bodyOf } from '../ban-versions.js';
import type { BanChange } from '../types.js';
import type { RedisConnections } from './connections.js';
import type { RedisKeys } from './keys.js';
import type { BanReplica } from '../shared-backend.js';

/**
 * The reader of the ban stream: on its own connection (`stream`, blocking reads), it applies
 * every change to the ledger in stream order and keeps the ID of the last entry it read, so
 * it resumes from there after a reconnect. A full resync moves that position (see
 * {@link resumeAfter}). Read failures are retried; nothing here throws.
 */
export class BanStream {
  private lastId = '0-0';
  private stopped = false;
  private reader: Promise<void> | undefined;

  constructor(
    private readonly connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly ledger: BanReplica,
    private readonly log: Logger,
    /** Redis's clock now: how long a change took to arrive is measured on it. */
    private readonly redisNow: () => number,
    /** Sees how long each change made on another node took to be applied here, in seconds. */
    private readonly onPropagated: ((seconds: number) => void) | undefined,
  ) {}

  /** The ID of the last stream entry applied (`0-0` before any). */
  get position(): string {
    return this.lastId;
  }

  /** Reads on from after `id`: a full resync applied everything the stream held up to it. */
  resumeAfter(id: string): void {
    this.lastId = id;
  }

  /** Starts the reader (it waits for its connection by itself). */
  start(): void {
    this.reader = this.readLoop();
  }

  /** Stops the reader: its connection is dropped, and this resolves once the loop ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.connections.dedicatedClient('stream').disconnect();
    await this.reader;
  }

  private async readLoop(): Promise<void> {
    const stream = this.connections.dedicatedClient('stream');
    while (!this.stopped) {
      if (stream.status !== 'ready') {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer);
            stream.off('ready', done);
            resolve();
          };
          const timer = setTimeout(done, 1_000);
          stream.once('ready', done);
        });
        continue;
      }
      try {
        // The typed method keeps ioredis's legacy reply shape ([[key, [[id, fields]]]]); a raw
        // `call` would get RESP3's flattened map.
        const reply = await stream.xread('COUNT', '1000', 'BLOCK', '1000', 'STREAMS', this.keys.banStream, this.lastId);
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            const change = parseChange(fields[1] ?? null);
            if (change && this.ledger.apply(change) && bodyOf(change).node !== this.ledger.nodeName) {
              // The entry id's milliseconds are Redis's clock when the change was written.
              const writtenAt = Number(id.slice(0, id.indexOf('-')));
              this.onPropagated?.(Math.max(0, this.redisNow() - writtenAt) / 1_000);
            }
            this.lastId = id;
          }
        }
      } catch (error) {
        if (!this.stopped) this.log.debug({ err: describeError(error) }, 'ban stream read failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }
}

/** Compares two stream IDs (`ms-seq`): negative, zero or positive as `a` is before, at or after `b`. */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt);
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt);
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

/** Parses a change as written by `ban_apply.lua`; undefined for anything malformed. */
export function parseChange(raw: string | null): BanChange | undefined {
  if (raw === null) return undefined;
  try {
    const change = JSON.parse(raw) as BanChange;
    if (change.op === 'ban' && typeof change.ban?.target === 'string' && typeof change.ban.version === 'number') return change;
    if (change.op === 'unban' && typeof change.tombstone?.target === 'string' && typeof change.tombstone.version === 'number') return change;
  } catch {
    // A record Palisade did not write: ignored rather than trusted.
  }
  return undefined;
}
