import { BanTable } from './ban-table.js';
import { isNewer } from './ban-versions.js';
import type { Ban, BanChange, BanReplica, Tombstone } from './types.js';

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
  /** Interned label strings: a million bans share a handful of reasons, origins and nodes. */
  private readonly labels = new Map<string, string>();
  private clock = 0;
  private readonly listeners = new Set<(change: BanChange) => void>();

  constructor(
    readonly nodeName: string,
    private readonly now: () => number = Date.now,
    /** How long tombstones are kept; an older replayed ban is refused during this time. */
    readonly tombstoneTtlMs = 7 * 86_400_000,
  ) {
    this.table = new BanTable(now);
  }

  /** A version for a change made now on this node. */
  nextVersion(): number {
    this.clock = Math.max(this.clock + 1, this.now());
    return this.clock;
  }

  /** Applies a change from anywhere; false when it is not newer than what is known (ignored). */
  apply(change: BanChange): boolean {
    const target = change.op === 'ban' ? change.ban.target : change.tombstone.target;
    const incoming = change.op === 'ban' ? change.ban : change.tombstone;
    this.clock = Math.max(this.clock, incoming.version);
    const known = this.stampOf(target);
    if (known && !isNewer(incoming, known)) return false;
    if (change.op === 'ban') {
      this.table.set(this.intern(change.ban));
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

  /** The last known change of every target still worth telling others about. */
  snapshot(): BanChange[] {
    const out: BanChange[] = [];
    const now = this.now();
    for (const ban of this.table.list()) out.push({ op: 'ban', ban });
    for (const tombstone of this.tombstones.values()) {
      if (tombstone.at + this.tombstoneTtlMs > now) out.push({ op: 'unban', tombstone });
    }
    return out;
  }

  /** The version stamp of the last change known for `target` (canonical), if any. */
  stampOf(target: string): { version: number; node: string } | undefined {
    return this.table.get(target) ?? this.tombstones.get(target);
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

  /** The same ban with its repeated labels shared with other bans. */
  private intern(ban: Ban): Ban {
    const label = (text: string): string => {
      if (text.length > 64) return text;
      let shared = this.labels.get(text);
      if (shared === undefined) {
        if (this.labels.size >= 10_000) this.labels.clear();
        this.labels.set(text, (shared = text));
      }
      return shared;
    };
    return { ...ban, reason: label(ban.reason), origin: label(ban.origin), actor: label(ban.actor), node: label(ban.node) };
  }
}

export type { Ban };
