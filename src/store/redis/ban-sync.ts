import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { coded } from '../../errors.js';
import { describeError } from '../../log.js';
import { comparableFrom, digestText } from '../ban-digest.js';
import { isNewer } from '../ban-versions.js';
import type { BanAgreement } from '../cluster-view.js';
import type { BanChange, BanReplica } from '../types.js';
import type { RedisConnections } from './connections.js';
import type { RedisKeys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

/** Targets read per round trip during a resync (ZRANGE + MGET). */
const RESYNC_CHUNK = 5_000;
/** Changes written per pipeline when delivering the journal. */
const FLUSH_CHUNK = 1_000;
/** Records checked per {@link RedisBanSync.verifyRecords} call (one script call). */
const VERIFY_CHUNK = 5_000;
/** Bans expiring within this are not put back by {@link RedisBanSync.verifyRecords}: the sweep may have taken them. */
const VERIFY_EXPIRY_MARGIN_MS = 60_000;
/** Waits between failed resyncs: doubling from the first, up to the last. */
const RESYNC_BACKOFF_MS = [2_000, 60_000] as const;
/** Checks in a row a digest must differ before the node resyncs (one could be a race with a change in flight). */
const DIVERGED_CHECKS = 2;
/** Most bans Redis's digest is rebuilt over in one script call (about 0.2 s of Redis's time; a longer call would stall it). */
export const DIGEST_REBUILD_LIMIT = 50_000;
/** Waits between digest repairs that did not end the difference: doubling from the first to the last. */
const FIRST_REPAIR_BACKOFF_MS = 4_000;
const MAX_REPAIR_BACKOFF_MS = 600_000;

/** Why a full resync ran (the `cause` label of `palisade_ban_resyncs_total`). */
export type ResyncCause = 'start' | 'master' | 'epoch' | 'trimmed' | 'digest';

export interface BanSyncOptions {
  /** Approximate length the stream is trimmed to (`XADD … MAXLEN ~ N`). */
  streamLength: number;
  /** Most targets kept in the journal of undelivered changes; beyond it a full resync re-asserts. */
  journalLimit: number;
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

/** Compares two stream IDs (`ms-seq`). */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt);
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt);
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1;
}

/**
 * Keeps this node's ban ledger and Redis in step:
 *  - a local change is enforced at once, journaled, and written (record + index + stream)
 *    by one script; undelivered changes stay in the journal and are replayed when Redis
 *    is back;
 *  - a dedicated connection reads the stream and applies every change, resuming from its
 *    last ID after a reconnect;
 *  - a full resync (read every record and tombstone through the indexes, apply what is
 *    newer, re-assert what Redis lacks) runs at start, when the master changes, when the
 *    epoch marker is gone or changed (Redis restarted empty, FLUSHDB) and when the stream
 *    was trimmed past this node's position, and when this node's ban digest differs from
 *    Redis's at the same stream position twice in a row (a change it never received);
 * Versions make every step idempotent: nothing older ever overwrites anything newer.
 */
export class RedisBanSync {
  private lastId = '0-0';
  private epoch: string | undefined;
  private readonly journal = new Map<string, BanChange>();
  private journalOverflow = false;
  private resyncing: Promise<void> | undefined;
  /** Why the next full resync runs (the last cause queued wins). */
  private nextReason = '';
  /** The server the last full resync read (see the first `master` event in {@link start}). */
  private resyncedFrom: string | undefined;
  private flushing: Promise<void> | undefined;
  private resyncAgain = false;
  private stopped = false;
  private reader: Promise<void> | undefined;
  private synced = false;
  private everSynced = false;
  private failedResyncs = 0;
  private retryAt = 0;
  private lastFailure: string | undefined;
  /** Redis's clock minus this node's, in ms (see {@link setClockOffset}). */
  private clockOffsetMs = 0;
  /** The pass {@link verifyRecords} is walking (taken once per pass), and where it is in it. */
  /** The current pass over the ledger of {@link verifyRecords}, resumed at each run. */
  private verifyWalk: Iterator<BanChange> | undefined;
  /** Whether this node's bans matched Redis's at the last comparable check (null: not compared yet). */
  private agrees: boolean | null = null;
  private divergedSince: number | null = null;
  private divergedChecks = 0;
  private repairs = 0;
  /** The last digest repair was a resync of this node: if it still differs, Redis's digest is suspected next. */
  private suspectRedis = false;
  private repairBackoffMs = 0;
  private repairAfter = 0;
  /** Redis's digest and stream position, as read at the last check. */
  private redisDigest: { digest: number; from: number; stream: string; complete: boolean } | undefined;
  private rebuildRefused = false;

  constructor(
    private readonly connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly ledger: BanReplica,
    private readonly log: Logger,
    private readonly options: BanSyncOptions,
  ) {}

  private get background(): ScriptedRedis {
    return this.connections.dedicatedClient('background') as ScriptedRedis;
  }

  /** How this node's bans compare with Redis's (see {@link check}). */
  agreement(): BanAgreement {
    return { stream: this.lastId, agrees: this.agrees, divergedSince: this.divergedSince, repairs: this.repairs };
  }

  /** Redis's digest and stream tail as of the last check (undefined before one). */
  get redisState(): { digest: string; stream: string; complete: boolean } | undefined {
    const seen = this.redisDigest;
    return seen && { digest: digestText(seen.digest), stream: seen.stream, complete: seen.complete };
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
      void this.resync('master', 'master changed');
    });
    if (this.background.status === 'ready') void this.resync('start', 'start');
    else this.background.once('ready', () => void this.resync('start', 'start'));
    this.reader = this.readLoop();
  }

  /** Journals `change` and tries to deliver everything pending; true once Redis has it. Never throws. */
  async publish(change: BanChange): Promise<boolean> {
    const target = change.op === 'ban' ? change.ban.target : change.tombstone.target;
    if (!this.remember(change)) return false; // the journal is full: the next resync re-asserts it
    await this.flush();
    return this.journal.get(target) !== change;
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
    if (firstId && this.lastId !== '0-0' && compareStreamIds(firstId, this.lastId) > 0) {
      await this.resync('trimmed', 'stream trimmed past this node');
      return;
    }
    if (this.journal.size > 0) await this.flush();
    await this.compareDigests(client);
  }

  /**
   * Compares this node's ban digest with Redis's, read with the stream's last entry in one
   * script (the script that changes one also appends the other). Only when this node has
   * applied that very entry and holds nothing Redis lacks: then both sides must hold the
   * same bans. A difference twice in a row is a change this node never received: it
   * resyncs (not awaited: the heartbeat goes on). Still different after that, Redis's
   * digest is suspected (written by a node that does not keep it, or kept over a lost
   * index): it is rebuilt; then the node again — each round waiting twice as long, up to
   * {@link MAX_REPAIR_BACKOFF_MS}. An incomplete digest in Redis is rebuilt first (see
   * ban_digest_rebuild.lua). Never throws.
   */
  private async compareDigests(client: ScriptedRedis): Promise<void> {
    try {
      const from = comparableFrom(this.redisNow());
      const [complete, theirs, stream] = await client.palisadeBanDigestRead(this.keys.banDigest, this.keys.banStream, from);
      if (complete !== 1) {
        this.redisDigest = { digest: 0, from, stream, complete: false };
        this.agrees = null;
        await this.rebuildDigest(client);
        return;
      }
      this.redisDigest = { digest: theirs, from, stream, complete: true };
      if (stream !== this.lastId || this.journal.size > 0 || this.resyncing) return; // not comparable now
      const mine = this.ledger.digest(from);
      if (mine === theirs) {
        this.agrees = true;
        this.divergedSince = null;
        this.divergedChecks = 0;
        this.repairBackoffMs = 0;
        this.suspectRedis = false;
        return;
      }
      this.agrees = false;
      this.divergedSince ??= Date.now();
      if (++this.divergedChecks < DIVERGED_CHECKS || Date.now() < this.repairAfter) return;
      this.divergedChecks = 0;
      this.repairBackoffMs = Math.min(MAX_REPAIR_BACKOFF_MS, Math.max(FIRST_REPAIR_BACKOFF_MS, this.repairBackoffMs * 2));
      this.repairAfter = Date.now() + this.repairBackoffMs;
      if (this.suspectRedis) {
        this.suspectRedis = false;
        this.log.warn({ stream, mine: digestText(mine), redis: digestText(theirs) }, "this node's bans still differ from Redis's after a resync: rebuilding Redis's ban digest from its index");
        await this.rebuildDigest(client, 1);
        return;
      }
      this.log.warn(coded('PAL_BANS_DIVERGED', { stream, mine: digestText(mine), redis: digestText(theirs) }), "this node's bans differ from Redis's at the same stream position: resyncing");
      this.repairs++;
      this.suspectRedis = true;
      void this.resync('digest', 'ban digest differs from Redis').then(() => {
        this.agrees = null;
        this.divergedSince = null;
      });
    } catch (error) {
      this.log.debug({ err: describeError(error) }, 'ban digest check failed; tried again at the next beat');
    }
  }

  /** Rebuilds Redis's digest from its ban index when it is small enough to do at once (see ban_digest_rebuild.lua). */
  private async rebuildDigest(client: ScriptedRedis, force: 0 | 1 = 0): Promise<void> {
    const rebuilt = await client.palisadeBanDigestRebuild(this.keys.banIndex, this.keys.banDigest, DIGEST_REBUILD_LIMIT, force);
    if (rebuilt < 0 && !this.rebuildRefused) {
      this.log.warn({ limit: DIGEST_REBUILD_LIMIT }, 'Redis holds no complete ban digest and more bans than can be hashed at once: nodes are not compared with Redis until Redis restarts empty (the nodes re-assert their bans, and the digest with them)');
    }
    this.rebuildRefused = rebuilt < 0;
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
          if (why !== this.lastFailure) this.log.warn(coded('PAL_REDIS_UNAVAILABLE', { reason, err: why, retryInMs: wait }), 'ban resync failed; retrying with backoff');
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
    this.connections.dedicatedClient('stream').disconnect();
    await this.reader;
  }

  /** Journals `change`; false when the journal is full (the ledger still has it). */
  private remember(change: BanChange): boolean {
    const target = change.op === 'ban' ? change.ban.target : change.tombstone.target;
    if (this.journal.size >= this.options.journalLimit && !this.journal.has(target)) {
      // Every change is also in the ledger: a full resync re-asserts it once Redis is back.
      this.journalOverflow = true;
      return false;
    }
    this.journal.set(target, change);
    return true;
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
      if (change && this.journal.get(change.op === 'ban' ? change.ban.target : change.tombstone.target) === undefined) this.remember(change);
    }
    if (missing.length > 0) {
      this.log.warn({ missing: missing.length, checked: slice.length }, 'ban records or their index entries missing in Redis (evicted or deleted): put back');
      await this.flush();
    }
    return missing.length;
  }

  /**
   * Writes the journal to Redis; what fails stays journaled. One delivery at a time: a
   * caller arriving meanwhile waits for it (changes it adds are taken by its next round),
   * so a burst of changes never stacks pipelines on a slow Redis.
   */
  private flush(): Promise<void> {
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
          const target = change.op === 'ban' ? change.ban.target : change.tombstone.target;
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
    const target = change.op === 'ban' ? change.ban.target : change.tombstone.target;
    const body = change.op === 'ban' ? change.ban : change.tombstone;
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
      this.options.streamLength,
    ];
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
          const body = change.op === 'ban' ? change.ban : change.tombstone;
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
      const target = change.op === 'ban' ? change.ban.target : change.tombstone.target;
      if (current.has(target)) continue;
      this.journal.set(target, change);
      reasserted++;
    }
    this.journalOverflow = false;
    await this.flush();
    this.lastId = tail[0]?.[0] ?? '0-0';
    await client.set(this.keys.banEpoch, randomUUID(), 'NX');
    this.epoch = (await client.get(this.keys.banEpoch)) ?? undefined;
    this.synced = true;
    // Replaced while this resync read it (flushed, restarted empty): what it read before may be
    // gone from Redis, so once more (the heartbeat does not compare while a resync runs).
    if (epochBefore !== null && epochBefore !== (this.epoch ?? null)) void this.resync('epoch', 'ban state replaced in Redis during a resync');
    this.log.info({ reason, remote, applied, reasserted, ms: Date.now() - started }, 'bans resynced with Redis');
    this.options.onResynced?.();
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
            if (change && this.ledger.apply(change) && (change.op === 'ban' ? change.ban.node : change.tombstone.node) !== this.ledger.nodeName) {
              // The entry id's milliseconds are Redis's clock when the change was written.
              const writtenAt = Number(id.slice(0, id.indexOf('-')));
              this.options.onPropagated?.(Math.max(0, Date.now() + this.clockOffsetMs - writtenAt) / 1_000);
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

/** Parses a change as written by `ban_apply.lua`; undefined for anything malformed. */
function parseChange(raw: string | null): BanChange | undefined {
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
