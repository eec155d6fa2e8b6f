import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { coded } from '../../errors.js';
import { describeError } from '../../log.js';
import { bodyOf, isNewer, targetOf } from '../ban-versions.js';
import type { BanChange } from '../types.js';
import { DigestAgreement } from './ban-agreement.js';
import { BanJournal, type JournalLimits } from './ban-journal.js';
import { BanStream, compareStreamIds, parseChange } from './ban-stream.js';
import type { RedisConnections } from './connections.js';
import type { RedisKeys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';
import type { BanAgreement } from '../types.js';
import type { BanReplica } from '../shared-backend.js';

/** Targets read per round trip during a resync (ZRANGE + MGET). */
const RESYNC_CHUNK = 5_000;
/** Records checked per {@link RedisBanSync.verifyRecords} call (one script call). */
const VERIFY_CHUNK = 5_000;
/** Bans expiring within this are not put back by {@link RedisBanSync.verifyRecords}: the sweep may have taken them. */
const VERIFY_EXPIRY_MARGIN_MS = 60_000;
/** Waits between failed resyncs: doubling from the first, up to the last. */
const RESYNC_BACKOFF_MS = [2_000, 60_000] as const;

/** Why a full resync ran (the `cause` label of `palisade_ban_resyncs_total`). */
export type ResyncCause = 'start' | 'master' | 'epoch' | 'trimmed' | 'digest';

export interface BanSyncOptions extends JournalLimits {
  /** Runs after every completed resync (the audit trail re-asserts this node's entries). */
  onResynced?: () => void;
  /**
   * Sees how long each change made on another node took to be applied here: from its
   * stream entry (Redis's clock at XADD) to now on Redis's clock, in seconds.
   */
  onPropagated?: (seconds: number) => void;
  /** Sees every full resync as it starts, with its cause. */
  onResync?: (cause: ResyncCause) => void;
}

/**
 * Keeps this node's ban ledger and Redis in step:
 *  - a local change is enforced at once, journaled, and written (record + index + stream)
 *    by one script; undelivered changes stay in the journal and are replayed when Redis
 *    is back ({@link BanJournal});
 *  - a dedicated connection reads the stream and applies every change, resuming from its
 *    last ID after a reconnect ({@link BanStream});
 *  - a full resync (read every record and tombstone through the indexes, apply what is
 *    newer, re-assert what Redis lacks) runs at start, when the master changes, when the
 *    epoch marker is gone or changed (Redis restarted empty, FLUSHDB) and when the stream
 *    was trimmed past this node's position, and when this node's ban digest differs from
 *    Redis's at the same stream position twice in a row (a change it never received;
 *    {@link DigestAgreement});
 * Versions make every step idempotent: nothing older ever overwrites anything newer.
 */
export class RedisBanSync {
  private epoch: string | undefined;
  private resyncing: Promise<void> | undefined;
  /** Why the next full resync runs (the last cause queued wins). */
  private nextReason = '';
  /** The server the last full resync read (see the first `master` event in {@link start}). */
  private resyncedFrom: string | undefined;
  private resyncAgain = false;
  private stopped = false;
  private synced = false;
  private everSynced = false;
  private failedResyncs = 0;
  private retryAt = 0;
  private lastFailure: string | undefined;
  /** Redis's clock minus this node's, in ms (see {@link setClockOffset}). */
  private clockOffsetMs = 0;
  /** The current pass over the ledger of {@link verifyRecords}, resumed at each run. */
  private verifyWalk: Iterator<BanChange> | undefined;
  private readonly journal: BanJournal;
  private readonly stream: BanStream;
  private readonly digests: DigestAgreement;

  constructor(
    private readonly connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly ledger: BanReplica,
    private readonly log: Logger,
    private readonly options: BanSyncOptions,
  ) {
    this.journal = new BanJournal(connections, keys, ledger, log, options);
    this.stream = new BanStream(connections, keys, ledger, log, () => this.redisNow(), options.onPropagated);
    this.digests = new DigestAgreement(keys, ledger, log, {
      redisNow: () => this.redisNow(),
      position: () => this.stream.position,
      unsettled: () => this.journal.size > 0 || this.resyncing !== undefined,
      resync: () => this.resync('digest', 'ban digest differs from Redis'),
    });
  }

  private get background(): ScriptedRedis {
    return this.connections.dedicatedClient('background') as ScriptedRedis;
  }

  /** How this node's bans compare with Redis's (see {@link check}). */
  agreement(): BanAgreement {
    return this.digests.agreement();
  }

  /** Redis's digest and stream tail as of the last check (undefined before one). */
  get redisState(): { digest: string; stream: string; complete: boolean } | undefined {
    return this.digests.redisState;
  }

  /** True once a full resync completed since the last master change. */
  get isSynced(): boolean {
    return this.synced;
  }

  /** True once a full resync completed since this node started: it holds the shared ban set. */
  get hasLoaded(): boolean {
    return this.everSynced;
  }

  /** Changes waiting for Redis. */
  get pending(): number {
    return this.journal.size;
  }

  /**
   * Redis's clock minus this node's (from `INFO server_time_usec`, half the round trip
   * taken off): propagation is measured on Redis's clock, so skewed node clocks do not lie.
   */
  setClockOffset(ms: number): void {
    this.clockOffsetMs = ms;
  }

  /** Redis's clock now, as estimated from this node's (see {@link setClockOffset}). */
  redisNow(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** True while a change to `target` waits for Redis. */
  isPending(target: string): boolean {
    return this.journal.has(target);
  }

  /** Resolves true once the first resync completed, false after `timeoutMs`. */
  async loaded(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.everSynced && !this.stopped && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    return this.everSynced;
  }

  /** Starts the stream reader and the first resync (when Redis is reachable). */
  start(): void {
    this.connections.on('master', (master: string, previous: string | undefined) => {
      // The first master reached is the start's resync to make, not a change — unless that
      // resync reads another server (a failover while the node starts).
      if (previous === undefined && (this.resyncedFrom === undefined || this.resyncedFrom === master)) return;
      this.synced = false;
      this.whenBackgroundReady(() => void this.resync('master', 'master changed'));
    });
    this.whenBackgroundReady(() => void this.resync('start', 'start'));
    this.stream.start();
  }

  /**
   * Runs `then` once the connection a resync reads through is ready: at once, or on its next
   * `ready`. A master change is usually seen first on the request pool, while this connection
   * is still reconnecting; a resync started then would fail and wait for the heartbeat and
   * its back-off (seconds), leaving the bans a failover lost unwritten meanwhile.
   */
  private whenBackgroundReady(then: () => void): void {
    const client = this.background;
    if (client.status === 'ready') then();
    else client.once('ready', then);
  }

  /** Journals `change` and tries to deliver everything pending; true once Redis has it. Never throws. */
  publish(change: BanChange): Promise<boolean> {
    return this.journal.publish(change);
  }

  /**
   * Periodic check (runs with the heartbeat): delivers the journal, and resyncs when the
   * epoch marker changed or vanished, the stream was trimmed past our position, or this
   * node's ban digest stays different from Redis's at the same stream position.
   */
  async check(): Promise<void> {
    const client = this.background;
    // A resync under way ends by reading the epoch and the stream's position: nothing to compare yet.
    if (client.status !== 'ready' || this.stopped || this.resyncing) return;
    const [epoch, first] = await Promise.all([client.get(this.keys.banEpoch), client.xrange(this.keys.banStream, '-', '+', 'COUNT', 1)]);
    if (epoch !== this.epoch) {
      if (Date.now() < this.retryAt) return; // backing off after failed resyncs
      await this.resync('epoch', epoch === null ? 'ban state missing in Redis (restarted empty or flushed)' : 'ban state replaced in Redis');
      return;
    }
    const firstId = first[0]?.[0];
    if (firstId && this.stream.position !== '0-0' && compareStreamIds(firstId, this.stream.position) > 0) {
      await this.resync('trimmed', 'stream trimmed past this node');
      return;
    }
    if (this.journal.size > 0) await this.journal.flush();
    await this.digests.compare(client);
  }

  /** Runs a full resync (coalesced: at most one at a time, one more queued). */
  resync(cause: ResyncCause, reason: string): Promise<void> {
    this.options.onResync?.(cause);
    this.nextReason = reason;
    if (this.resyncing) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    this.resyncing = (async () => {
      do {
        this.resyncAgain = false;
        try {
          await this.fullResync(this.nextReason);
          this.connections.writeAccepted('bans');
          if (this.failedResyncs > 0) this.log.info({ failures: this.failedResyncs }, 'ban resync succeeded after failing');
          this.failedResyncs = 0;
          this.retryAt = 0;
          this.lastFailure = undefined;
        } catch (error) {
          this.connections.writeFailed('bans', error as Error);
          this.failedResyncs++;
          const [first, most] = RESYNC_BACKOFF_MS;
          const wait = Math.min(most, first * 2 ** (this.failedResyncs - 1));
          this.retryAt = Date.now() + wait;
          const why = describeError(error);
          // Said once per kind of failure, not at every retry.
          if (why !== this.lastFailure)
            this.log.warn(coded('PAL_REDIS_UNAVAILABLE', { reason, err: why, retryInMs: wait }), 'ban resync failed; retrying with backoff');
          this.lastFailure = why;
          this.epoch = undefined;
        }
      } while (this.resyncAgain && !this.stopped);
      this.resyncing = undefined;
    })();
    return this.resyncing;
  }

  /** Stops the reader. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.stream.stop();
  }

  /**
   * Puts back ban records and tombstones that Redis lost while this node holds them, or
   * their index entries (an eviction takes single keys: a record, or an index — leaving the
   * epoch; ban_apply.lua re-indexes the same change): checks the next slice of
   * this node's ledger — {@link VERIFY_CHUNK} keys in one script call — and journals what
   * is missing. Run by one node of the cluster at a time; a full pass over N bans takes
   * N / VERIFY_CHUNK calls.
   */
  async verifyRecords(): Promise<number> {
    const client = this.background;
    if (client.status !== 'ready' || this.stopped || !this.synced) return 0;
    this.verifyWalk ??= this.ledger.changes()[Symbol.iterator]();
    // A ban about to expire may just have been swept from Redis (clocks differ): left to the sweep.
    const soon = Date.now() + VERIFY_EXPIRY_MARGIN_MS;
    const slice: BanChange[] = [];
    for (let taken = 0; taken < VERIFY_CHUNK; taken++) {
      const next = this.verifyWalk.next();
      if (next.done) {
        this.verifyWalk = undefined;
        break;
      }
      const change = next.value;
      if (change.op !== 'ban' || change.ban.expiresAt === null || change.ban.expiresAt > soon) slice.push(change);
    }
    if (slice.length === 0) return 0;
    const keys = slice.map((change) => (change.op === 'ban' ? this.keys.ban(change.ban.target) : this.keys.tombstone(change.tombstone.target)));
    const targets = slice.map((change) => (change.op === 'ban' ? `b${change.ban.target}` : `t${change.tombstone.target}`));
    const missing = await client.palisadeBanMissing(keys.length + 2, ...keys, this.keys.banIndex, this.keys.tombstoneIndex, ...targets);
    for (const position of missing) {
      const change = slice[position - 1];
      if (change && !this.journal.has(targetOf(change))) this.journal.remember(change);
    }
    if (missing.length > 0) {
      this.log.warn({ missing: missing.length, checked: slice.length }, 'ban records or their index entries missing in Redis (evicted or deleted): put back');
      await this.journal.flush();
    }
    return missing.length;
  }

  private async fullResync(reason: string): Promise<void> {
    const client = this.background;
    if (client.status !== 'ready') throw new Error('no Redis connection ready');
    const started = Date.now();
    this.resyncedFrom = this.connections.serverOfRole('background');
    const epochBefore = await client.get(this.keys.banEpoch);
    const tail = await client.xrevrange(this.keys.banStream, '+', '-', 'COUNT', 1);
    // Targets whose newest change Redis holds; those this node knows newer are written back.
    const current = new Set<string>();
    let remote = 0;
    let applied = 0;
    for (const index of [this.keys.banIndex, this.keys.tombstoneIndex]) {
      const keyOf = index === this.keys.banIndex ? (t: string) => this.keys.ban(t) : (t: string) => this.keys.tombstone(t);
      for (let offset = 0; ; offset += RESYNC_CHUNK) {
        const targets = await client.zrange(index, String(offset), String(offset + RESYNC_CHUNK - 1));
        if (targets.length === 0) break;
        const records = await client.mget(targets.map(keyOf));
        for (const raw of records) {
          const change = parseChange(raw);
          if (!change) continue;
          remote++;
          const body = bodyOf(change);
          if (this.ledger.apply(change)) {
            applied++;
            current.add(body.target);
            continue;
          }
          const known = this.ledger.stampOf(body.target);
          if (known && !isNewer(known, body)) current.add(body.target);
        }
        if (targets.length < RESYNC_CHUNK) break;
      }
    }
    // Every ban Redis holds is now enforced here, even if writing back fails below.
    this.everSynced = true;
    let reasserted = 0;
    for (const change of this.ledger.changes()) {
      if (current.has(targetOf(change))) continue;
      this.journal.reassert(change);
      reasserted++;
    }
    this.journal.reasserted();
    await this.journal.flush();
    this.stream.resumeAfter(tail[0]?.[0] ?? '0-0');
    await client.set(this.keys.banEpoch, randomUUID(), 'NX');
    this.epoch = (await client.get(this.keys.banEpoch)) ?? undefined;
    this.synced = true;
    // Replaced while this resync read it (flushed, restarted empty): what it read before may be
    // gone from Redis, so once more (the heartbeat does not compare while a resync runs).
    if (epochBefore !== null && epochBefore !== (this.epoch ?? null)) void this.resync('epoch', 'ban state replaced in Redis during a resync');
    this.log.info({ reason, remote, applied, reasserted, ms: Date.now() - started }, 'bans resynced with Redis');
    this.options.onResynced?.();
  }
}
