import { v4Text, v4Word } from '../net/ip.js';
import { BanDigest } from './ban-digest.js';
import { TargetIndex } from './target-index.js';
import type { Ban } from './types.js';

/** Slots the columns start with; they double when full. */
const INITIAL_SLOTS = 1024;

/**
 * The node's table of active bans: what the ban gate reads on every request (with
 * `WORKERS=0`) and the records the admin API lists. A million bans must fit in a node's
 * memory, so a ban is not kept as an object but as a slot in columns — its times and
 * version in typed arrays, its reason, origin, actor and node as indexes into a table of
 * labels shared by every ban (counted, dropped with their last ban), its evidence only
 * when it has some — and a {@link Ban} is built when one is asked for.
 *
 * Where each ban is — its slot under its target — is a {@link TargetIndex}, the same index a
 * worker's ban set uses: an exact IPv4 address (most bans) costs no string and no Map entry,
 * and a lookup one probe per prefix length in use. The slot's target text is kept for
 * anything else than an exact IPv4 address. Expired bans are dropped by `sweep`.
 */
export class BanTable {
  /** Canonical target → slot. */
  private readonly index = new TargetIndex();
  /** Per slot: 0 free, {@link V4} an exact IPv4 address (in `v4Of`), {@link TEXT} a target in `texts`. */
  private kinds = new Uint8Array(INITIAL_SLOTS);
  private v4Of = new Uint32Array(INITIAL_SLOTS);
  private readonly texts = new Map<number, string>();
  /** Slots handed out so far (freed ones are reused first): the end of every walk. */
  private slots = 0;
  private createdAt = new Float64Array(INITIAL_SLOTS);
  /** NaN for a permanent ban. */
  private expiresAt = new Float64Array(INITIAL_SLOTS);
  private versions = new Float64Array(INITIAL_SLOTS);
  /** Four label indexes per slot: reason, origin, actor, node. */
  private labelsOf = new Uint32Array(INITIAL_SLOTS * 4);
  private readonly evidence = new Map<number, string>();
  private readonly labels = new Labels();
  private readonly freeSlots: number[] = [];
  private used = 0;
  /** Kept with every insert and removal: what the cluster view compares with Redis's. */
  readonly digest = new BanDigest();

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.used;
  }

  /** Inserts or replaces the ban for `ban.target` (canonical IP or CIDR text). */
  set(ban: Ban): void {
    const target = ban.target;
    let slot = this.index.get(target);
    // The new labels are taken before the old ones are let go: a renewal keeps its indexes.
    const reason = this.labels.take(ban.reason);
    const origin = this.labels.take(ban.origin);
    const actor = this.labels.take(ban.actor);
    const node = this.labels.take(ban.node);
    if (slot === undefined) {
      slot = this.freeSlots.pop() ?? this.slots++;
      if (!this.index.set(target, slot)) {
        this.freeSlots.push(slot);
        for (const label of [reason, origin, actor, node]) this.labels.release(label);
        throw new TypeError(`not a ban target: ${target}`);
      }
      if (slot >= this.createdAt.length) this.grow();
      // An exact IPv4 address is written out from its number: no string kept.
      const v4 = target.includes('/') ? undefined : v4Word(target, true);
      if (v4 !== undefined) {
        this.kinds[slot] = V4;
        this.v4Of[slot] = v4;
      } else {
        this.kinds[slot] = TEXT;
        this.texts.set(slot, target);
      }
      this.used++;
    } else {
      this.releaseLabels(slot);
      this.digest.toggle(target, this.expiryAt(slot));
    }
    this.digest.toggle(target, ban.expiresAt);
    this.createdAt[slot] = ban.createdAt;
    this.expiresAt[slot] = ban.expiresAt ?? Number.NaN;
    this.versions[slot] = ban.version;
    const at = slot * 4;
    this.labelsOf[at] = reason;
    this.labelsOf[at + 1] = origin;
    this.labelsOf[at + 2] = actor;
    this.labelsOf[at + 3] = node;
    if (ban.evidence === '') this.evidence.delete(slot);
    else this.evidence.set(slot, ban.evidence);
  }

  /** Removes the ban on `target` (canonical); true when one was there. */
  delete(target: string): boolean {
    const slot = this.index.get(target);
    if (slot === undefined) return false;
    this.index.delete(target);
    this.texts.delete(slot);
    this.kinds[slot] = 0;
    this.digest.toggle(target, this.expiryAt(slot));
    this.releaseLabels(slot);
    this.evidence.delete(slot);
    this.freeSlots.push(slot);
    this.used--;
    return true;
  }

  /** The ban stored under exactly `target` (canonical; no containment), active or not. */
  get(target: string): Ban | undefined {
    const slot = this.index.get(target);
    return slot === undefined ? undefined : this.banAt(slot);
  }

  /** The version and node of the ban stored under exactly `target`, without building it. */
  stampOf(target: string): { version: number; node: string } | undefined {
    const slot = this.index.get(target);
    return slot === undefined ? undefined : { version: this.versions[slot]!, node: this.labels.text(this.labelsOf[slot * 4 + 3]!) };
  }

  /** The active ban covering the canonical `ip`, if any. */
  match(ip: string): Ban | undefined {
    const hit = this.index.match(ip, this.isActive);
    return hit === undefined ? undefined : this.banAt(hit.value);
  }

  /** Every active ban covering the canonical `ip`: its exact ban, then each network holding it, narrowest first. */
  covering(ip: string): Ban[] {
    return this.index
      .covering(ip)
      .filter(this.isActive)
      .map((slot) => this.banAt(slot));
  }

  /**
   * How many active bans there are by origin and by reason, read from the label columns:
   * a million bans are counted without building one record.
   */
  tally(): { total: number; byOrigin: Map<string, number>; byReason: Map<string, number> } {
    const origins = new Map<number, number>();
    const reasons = new Map<number, number>();
    let total = 0;
    this.forEachActive((slot) => {
      total++;
      const reason = this.labelsOf[slot * 4]!;
      const origin = this.labelsOf[slot * 4 + 1]!;
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      origins.set(origin, (origins.get(origin) ?? 0) + 1);
    });
    const named = (counts: Map<number, number>): Map<string, number> => {
      const out = new Map<string, number>();
      for (const [label, count] of counts) out.set(this.labels.text(label), (out.get(this.labels.text(label)) ?? 0) + count);
      return out;
    };
    return { total, byOrigin: named(origins), byReason: named(reasons) };
  }

  /** Every active ban. */
  list(): Ban[] {
    const out: Ban[] = [];
    this.forEachActive((slot) => void out.push(this.banAt(slot)));
    return out;
  }

  /**
   * The target and expiry (null: permanent) of every active ban, one at a time, building no
   * record: a walk that may pause between steps (bans changed meanwhile are seen as they are
   * when the walk reaches them).
   */
  *entries(): Generator<[string, number | null]> {
    for (let slot = 0; slot < this.slots; slot++) {
      if (this.kinds[slot] === 0) continue;
      const expiry = this.expiresAt[slot]!;
      if (Number.isNaN(expiry)) yield [this.targetAt(slot), null];
      else if (expiry > this.now()) yield [this.targetAt(slot), expiry];
    }
  }

  /** Every active ban, built one at a time (see {@link entries}). */
  *bans(): Generator<Ban> {
    for (let slot = 0; slot < this.slots; slot++) {
      if (this.kinds[slot] === 0) continue;
      const expiry = this.expiresAt[slot]!;
      if (Number.isNaN(expiry) || expiry > this.now()) yield this.banAt(slot);
    }
  }

  /** Drops every expired ban; returns the bans that went. */
  sweep(): Ban[] {
    const removed: Ban[] = [];
    const now = this.now();
    for (let slot = 0; slot < this.slots; slot++) {
      if (this.kinds[slot] === 0) continue;
      const expiry = this.expiresAt[slot]!;
      if (!Number.isNaN(expiry) && expiry <= now) {
        const ban = this.banAt(slot);
        removed.push(ban);
        this.delete(ban.target);
      }
    }
    return removed;
  }

  private forEachActive(visit: (slot: number) => void): void {
    const now = this.now();
    for (let slot = 0; slot < this.slots; slot++) {
      if (this.kinds[slot] === 0) continue;
      const expiry = this.expiresAt[slot]!;
      if (Number.isNaN(expiry) || expiry > now) visit(slot);
    }
  }

  /** The canonical target text of a used slot (an IPv4 address is written out from its number). */
  private targetAt(slot: number): string {
    return this.kinds[slot] === V4 ? v4Text(this.v4Of[slot]!) : this.texts.get(slot)!;
  }

  private expiryAt(slot: number): number | null {
    const expiry = this.expiresAt[slot]!;
    return Number.isNaN(expiry) ? null : expiry;
  }

  private banAt(slot: number): Ban {
    const at = slot * 4;
    const expiry = this.expiresAt[slot]!;
    return {
      target: this.targetAt(slot),
      reason: this.labels.text(this.labelsOf[at]!),
      origin: this.labels.text(this.labelsOf[at + 1]!),
      actor: this.labels.text(this.labelsOf[at + 2]!),
      node: this.labels.text(this.labelsOf[at + 3]!),
      createdAt: this.createdAt[slot]!,
      expiresAt: Number.isNaN(expiry) ? null : expiry,
      evidence: this.evidence.get(slot) ?? '',
      version: this.versions[slot]!,
    };
  }

  /** True when the ban in `slot` is active (an expired one waits for the sweep). */
  private readonly isActive = (slot: number): boolean => {
    const expiry = this.expiresAt[slot]!;
    return Number.isNaN(expiry) || expiry > this.now();
  };

  private releaseLabels(slot: number): void {
    const at = slot * 4;
    for (let i = 0; i < 4; i++) this.labels.release(this.labelsOf[at + i]!);
  }

  private grow(): void {
    const size = this.createdAt.length * 2;
    const widen = <T extends Float64Array | Uint32Array | Uint8Array>(old: T, make: (n: number) => T, factor = 1): T => {
      const next = make(size * factor);
      next.set(old);
      return next;
    };
    this.createdAt = widen(this.createdAt, (n) => new Float64Array(n));
    this.expiresAt = widen(this.expiresAt, (n) => new Float64Array(n));
    this.versions = widen(this.versions, (n) => new Float64Array(n));
    this.labelsOf = widen(this.labelsOf, (n) => new Uint32Array(n), 4);
    this.kinds = widen(this.kinds, (n) => new Uint8Array(n));
    this.v4Of = widen(this.v4Of, (n) => new Uint32Array(n));
  }
}

/** A slot's kind: an exact IPv4 address, or a target kept as text. */
const V4 = 1;
const TEXT = 2;

/**
 * Label strings (reasons, origins, actors, node names) shared by every ban, each counted:
 * a million bans hold a handful of them, and one no ban uses any more is dropped.
 */
class Labels {
  private readonly texts: Array<string | undefined> = [];
  private readonly counts: number[] = [];
  private readonly index = new Map<string, number>();
  private readonly free: number[] = [];

  /** The index of `text`, counting one more user. */
  take(text: string): number {
    let at = this.index.get(text);
    if (at === undefined) {
      at = this.free.pop() ?? this.texts.length;
      this.texts[at] = text;
      this.counts[at] = 0;
      this.index.set(text, at);
    }
    this.counts[at]!++;
    return at;
  }

  /** One user fewer for the label at `at`. */
  release(at: number): void {
    const count = this.counts[at];
    if (count === undefined || count === 0) return;
    if (count > 1) {
      this.counts[at] = count - 1;
      return;
    }
    this.counts[at] = 0;
    this.index.delete(this.texts[at]!);
    this.texts[at] = undefined;
    this.free.push(at);
  }

  text(at: number): string {
    return this.texts[at] ?? '';
  }
}
