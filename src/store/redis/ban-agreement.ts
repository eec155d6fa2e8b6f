import type { Logger } from 'pino';
import { coded } from '../../errors.js';
import { describeError } from '../../log.js';
import { comparableFrom, digestText } from '../ban-digest.js';
import type { RedisKeys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';
import type { BanAgreement } from '../types.js';
import type { BanReplica } from '../shared-backend.js';

/** Checks in a row a digest must differ before the node resyncs (one could be a race with a change in flight). */
const DIVERGED_CHECKS = 2;
/** Most bans Redis's digest is rebuilt over in one script call (about 0.2 s of Redis's time; a longer call would stall it). */
export const DIGEST_REBUILD_LIMIT = 50_000;
/** Waits between digest repairs that did not end the difference: doubling from the first to the last. */
const FIRST_REPAIR_BACKOFF_MS = 4_000;
const MAX_REPAIR_BACKOFF_MS = 600_000;

/** What the digest comparison needs of the ban sync it serves. */
export interface DigestSync {
  /** Redis's clock now: the digests cover the bans expiring from a bucket of it on. */
  redisNow(): number;
  /** The ID of the last stream entry this node applied. */
  position(): string;
  /** True while this node may hold changes Redis lacks (some wait in the journal) or a resync runs: no comparison then. */
  unsettled(): boolean;
  /** Resyncs this node (its bans still differ from Redis's); resolves when that resync ended. */
  resync(): Promise<void>;
}

/**
 * Whether this node's bans agree with Redis's, by their digests, and the repairs when they
 * do not: a resync of this node first, then a rebuild of Redis's digest, then the node
 * again, each round waiting longer (see {@link compare}).
 */
export class DigestAgreement {
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
    private readonly keys: RedisKeys,
    private readonly ledger: BanReplica,
    private readonly log: Logger,
    private readonly sync: DigestSync,
  ) {}

  /** How this node's bans compare with Redis's, as of the last {@link compare}. */
  agreement(): BanAgreement {
    return { stream: this.sync.position(), agrees: this.agrees, divergedSince: this.divergedSince, repairs: this.repairs };
  }

  /** Redis's digest and stream tail as of the last check (undefined before one). */
  get redisState(): { digest: string; stream: string; complete: boolean } | undefined {
    const seen = this.redisDigest;
    return seen && { digest: digestText(seen.digest), stream: seen.stream, complete: seen.complete };
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
  async compare(client: ScriptedRedis): Promise<void> {
    try {
      const from = comparableFrom(this.sync.redisNow());
      const [complete, theirs, stream] = await client.palisadeBanDigestRead(this.keys.banDigest, this.keys.banStream, from);
      if (complete !== 1) {
        this.redisDigest = { digest: 0, from, stream, complete: false };
        this.agrees = null;
        await this.rebuildDigest(client);
        return;
      }
      this.redisDigest = { digest: theirs, from, stream, complete: true };
      if (stream !== this.sync.position() || this.sync.unsettled()) return; // not comparable now
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
        this.log.warn(
          { stream, mine: digestText(mine), redis: digestText(theirs) },
          "this node's bans still differ from Redis's after a resync: rebuilding Redis's ban digest from its index",
        );
        await this.rebuildDigest(client, 1);
        return;
      }
      this.log.warn(
        coded('PAL_BANS_DIVERGED', { stream, mine: digestText(mine), redis: digestText(theirs) }),
        "this node's bans differ from Redis's at the same stream position: resyncing",
      );
      this.repairs++;
      this.suspectRedis = true;
      void this.sync.resync().then(() => {
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
      this.log.warn(
        { limit: DIGEST_REBUILD_LIMIT },
        'Redis holds no complete ban digest and more bans than can be hashed at once: nodes are not compared with Redis until Redis restarts empty (the nodes re-assert their bans, and the digest with them)',
      );
    }
    this.rebuildRefused = rebuilt < 0;
  }
}
