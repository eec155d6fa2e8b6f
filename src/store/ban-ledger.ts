import { BanPolicy, isRefusal, type BanSource } from './ban-policy.js';
import { BanTable } from './ban-table.js';
import { bodyOf, isNewer, targetOf } from './ban-versions.js';
import type { Ban, BanChange, Tombstone } from './types.js';
import type { BanReplica } from './shared-backend.js';

/**
 * This node's view of the ban list: the table the ban gate reads, plus the version of the
 * last change to every target (tombstones included), so changes can arrive in any order,
 * more than once, from the stream, a resync or a replayed journal, and the outcome is the
 * same. Versions come from a Lamport clock: a change made here is always newer than every
 * change this node has seen.
 */
export class BanLedger implements BanReplica {
  readonly table: BanTable;
  /** Lifted bans; an active ban carries its own version, so only these need a second map. */
  private readonly tombstones = new Map<string, Tombstone>();
  private clock = 0;
  private readonly listeners = new Set<(change: BanChange) => void>();

  constructor(
    readonly nodeName: string,
    private readonly now: () => number = Date.now,
    /** How long tombstones are kept; an older replayed ban is refused during this time. */
    readonly tombstoneTtlMs = 7 * 86_400_000,
    /** What every change arriving whole (Redis, the snapshot) is checked against. */
    readonly policy: BanPolicy = new BanPolicy(),
  ) {
    this.table = new BanTable(now);
  }

  /** A version for a change made now on this node. */
  nextVersion(): number {
    this.clock = Math.max(this.clock + 1, this.now());
    return this.clock;
  }

  /**
   * Applies a change from the shared state (a stream entry, a resync): checked by the
   * node's {@link BanPolicy} as a record from Redis first. False when refused (counted) or
   * not newer than what is known (ignored).
   */
  apply(change: BanChange): boolean {
    return this.accept(change, 'redis');
  }

  /**
   * Applies a change that arrives whole from `source` (`redis`, `snapshot`): refused
   * (counted by the policy) unless it passes as an import row would; then as {@link own}.
   */
  accept(change: unknown, source: BanSource): boolean {
    const checked = this.policy.record(change, source);
    return isRefusal(checked) ? false : this.own(checked);
  }

  /** Applies a change made on this node (admitted by the policy already); false when not newer than what is known. */
  own(change: BanChange): boolean {
    const target = targetOf(change);
    const incoming = bodyOf(change);
    this.clock = Math.max(this.clock, incoming.version);
    const known = this.stampOf(target);
    if (known && !isNewer(incoming, known)) return false;
    if (change.op === 'ban') {
      this.table.set(change.ban);
      this.tombstones.delete(target);
    } else {
      this.table.delete(target);
      this.tombstones.set(target, change.tombstone);
    }
    for (const listener of this.listeners) listener(change);
    return true;
  }

  /** Calls `listener` after every applied change (audit, metrics). */
  onChange(listener: (change: BanChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The last known change of every target still worth telling others about (for tests and small tables). */
  snapshot(): BanChange[] {
    return [...this.changes()];
  }

  /** Bans and tombstones held (an expired ban until the next sweep). */
  get size(): number {
    return this.table.size + this.tombstones.size;
  }

  /** The same, one change at a time: a million bans are never all built at once. */
  *changes(): Generator<BanChange> {
    for (const ban of this.table.bans()) yield { op: 'ban', ban };
    const now = this.now();
    for (const tombstone of this.tombstones.values()) {
      if (tombstone.at + this.tombstoneTtlMs > now) yield { op: 'unban', tombstone };
    }
  }

  /** The digest of the active bans expiring from bucket `from` on. */
  digest(from: number): number {
    return this.table.digest.from(from);
  }

  /** The version stamp of the last change known for `target` (canonical), if any. */
  stampOf(target: string): { version: number; node: string } | undefined {
    return this.table.stampOf(target) ?? this.tombstones.get(target);
  }

  /** Forgets expired bans and old tombstones; returns the bans that expired. */
  sweep(): Ban[] {
    const now = this.now();
    const expired = this.table.sweep();
    for (const [target, tombstone] of this.tombstones) {
      if (tombstone.at + this.tombstoneTtlMs <= now) this.tombstones.delete(target);
    }
    return expired;
  }
}

export type { Ban };
