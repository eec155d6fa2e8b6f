import type { Logger } from 'pino';
import { describeError } from '../../log.js';
import { bodyOf, targetOf } from '../ban-versions.js';
import type { BanChange } from '../types.js';
import type { RedisConnections } from './connections.js';
import type { RedisKeys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';
import type { BanReplica } from '../shared-backend.js';

/** Changes written per pipeline when delivering the journal. */
const FLUSH_CHUNK = 1_000;

/** What bounds the journal and what its writes trim (the sync's options). */
export interface JournalLimits {
  /** Approximate length the stream is trimmed to (`XADD … MAXLEN ~ N`). */
  streamLength: number;
  /** Most targets kept in the journal of undelivered changes; beyond it a full resync re-asserts. */
  journalLimit: number;
}

/**
 * The ban changes made on this node that Redis has not taken yet: the last one per target,
 * written (record + index + stream + digest) by one `ban_apply.lua` call each, a pipeline
 * at a time, on the background connection. What fails stays journaled and goes with the
 * next delivery; Redis refuses a change older than what it holds, so replaying is harmless.
 * Beyond `journalLimit` targets a change is not journaled (the ledger still has it, and the
 * next full resync re-asserts it). Never throws.
 */
export class BanJournal {
  private readonly journal = new Map<string, BanChange>();
  private journalOverflow = false;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly ledger: BanReplica,
    private readonly log: Logger,
    private readonly limits: JournalLimits,
  ) {}

  private get background(): ScriptedRedis {
    return this.connections.dedicatedClient('background') as ScriptedRedis;
  }

  /** Changes waiting for Redis (one per target). */
  get size(): number {
    return this.journal.size;
  }

  /** True while a change to `target` waits for Redis. */
  has(target: string): boolean {
    return this.journal.has(target);
  }

  /** Journals `change` and tries to deliver everything pending; true once Redis has it. Never throws. */
  async publish(change: BanChange): Promise<boolean> {
    const target = targetOf(change);
    if (!this.remember(change)) return false; // the journal is full: the next resync re-asserts it
    await this.flush();
    return this.journal.get(target) !== change;
  }

  /** Journals `change`; false when the journal is full (the ledger still has it). */
  remember(change: BanChange): boolean {
    const target = targetOf(change);
    if (this.journal.size >= this.limits.journalLimit && !this.journal.has(target)) {
      // Every change is also in the ledger: a full resync re-asserts it once Redis is back.
      this.journalOverflow = true;
      return false;
    }
    this.journal.set(target, change);
    return true;
  }

  /**
   * Journals `change` whatever the limit: a full resync re-asserting what Redis lacks (all
   * of it, what overflowed included). Follow with {@link reasserted}.
   */
  reassert(change: BanChange): void {
    this.journal.set(targetOf(change), change);
  }

  /** A full resync re-asserted everything Redis lacks: nothing overflowed since. */
  reasserted(): void {
    this.journalOverflow = false;
  }

  /**
   * Writes the journal to Redis; what fails stays journaled. One delivery at a time: a
   * caller arriving meanwhile waits for it (changes it adds are taken by its next round),
   * so a burst of changes never stacks pipelines on a slow Redis.
   */
  flush(): Promise<void> {
    this.flushing ??= this.deliver().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async deliver(): Promise<void> {
    const client = this.background;
    while (client.status === 'ready' && this.journal.size > 0) {
      const batch = [...this.journal.values()].slice(0, FLUSH_CHUNK);
      try {
        const pipeline = client.pipeline();
        for (const change of batch) (pipeline as unknown as ScriptedRedis).palisadeBanApply(...this.applyArgs(change));
        const results = (await pipeline.exec()) ?? [];
        let refused: Error | undefined;
        results.forEach(([error], i) => {
          const change = batch[i]!;
          const target = targetOf(change);
          // Delivered (or refused as older: Redis has newer) — either way done, unless replaced meanwhile.
          if (!error && this.journal.get(target) === change) this.journal.delete(target);
          refused ??= error ?? undefined;
        });
        if (refused) {
          this.connections.writeFailed('bans', refused);
          return;
        }
        this.connections.writeAccepted('bans');
      } catch (error) {
        this.connections.writeFailed('bans', error as Error);
        this.log.debug({ err: describeError(error), pending: this.journal.size }, 'ban changes kept in the journal');
        return;
      }
    }
  }

  private applyArgs(change: BanChange): Array<string | number> {
    const target = targetOf(change);
    const body = bodyOf(change);
    const expiry = change.op === 'ban' && change.ban.expiresAt !== null ? change.ban.expiresAt : 'inf';
    return [
      this.keys.ban(target),
      this.keys.banIndex,
      this.keys.tombstone(target),
      this.keys.tombstoneIndex,
      this.keys.banStream,
      this.keys.banDigest,
      change.op,
      target,
      body.version,
      body.node,
      JSON.stringify(change),
      expiry,
      this.ledger.tombstoneTtlMs,
      this.limits.streamLength,
    ];
  }
}
