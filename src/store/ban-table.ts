import { parseCidr, v4Text, v4Word } from '../net/ip.js';
import ipaddr from 'ipaddr.js';
import { AddressTable } from './address-table.js';
import { BanDigest } from './ban-digest.js';
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
 * Exact IPv4 addresses — most bans — live as 32-bit numbers in an {@link AddressTable} (no
 * string, no Map entry per ban), other exact IPs in one Map (both O(1)); networks in one Map
 * per prefix length, so a lookup costs one probe per prefix length in use (at most 33 for
 * IPv4, 129 for IPv6). Expired entries are dropped lazily on lookup and by `sweep`.
 */
export class BanTable {
  /** Exact IPv4 address → slot. */
  private readonly v4Exact = new AddressTable(1);
  /** Other canonical exact targets (IPv6) → slot. */
  private readonly exact = new Map<string, number>();
  /** Prefix bits → network text → slot, per family. */
  private readonly v4Networks = new Map<number, Map<string, number>>();
  private readonly v6Networks = new Map<number, Map<string, number>>();
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
  /** Scratch word for IPv4 lookups. */
  private readonly word = new Uint32Array(1);
  /** Kept with every insert and removal: what the cluster view compares with Redis's. */
  readonly digest = new BanDigest();

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.used;
  }

  /** Inserts or replaces the ban for `ban.target` (canonical IP or CIDR text). */
  set(ban: Ban): void {
    const place = this.placeOf(ban.target, true);
    if (!place) throw new TypeError(`not a ban target: ${ban.target}`);
    // The new labels are taken before the old ones are let go: a renewal keeps its indexes.
    const reason = this.labels.take(ban.reason);
    const origin = this.labels.take(ban.origin);
    const actor = this.labels.take(ban.actor);
    const node = this.labels.take(ban.node);
    let slot = this.find(place);
    if (slot === undefined) {
      slot = this.freeSlots.pop() ?? this.slots++;
      if (slot >= this.createdAt.length) this.grow();
      if (place.v4 !== undefined) {
        this.word[0] = place.v4;
        this.v4Exact.set(this.word, slot);
        this.kinds[slot] = V4;
        this.v4Of[slot] = place.v4;
      } else {
        place.map.set(place.key, slot);
        this.kinds[slot] = TEXT;
        this.texts.set(slot, place.key);
      }
      this.used++;
    } else {
      this.releaseLabels(slot);
      this.digest.toggle(place.key, this.expiryAt(slot));
    }
    this.digest.toggle(place.key, ban.expiresAt);
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
    const place = this.placeOf(target, false);
    const slot = place && this.find(place);
    if (place === undefined || slot === undefined) return false;
    if (place.v4 !== undefined) {
      this.word[0] = place.v4;
      this.v4Exact.delete(this.word);
    } else {
      place.map.delete(place.key);
      if (place.bucket && place.map.size === 0) place.bucket.delete(place.bits);
      this.texts.delete(slot);
    }
    this.kinds[slot] = 0;
    this.digest.toggle(place.key, this.expiryAt(slot));
    this.releaseLabels(slot);
    this.evidence.delete(slot);
    this.freeSlots.push(slot);
    this.used--;
    return true;
  }

  /** The ban stored under exactly `target` (canonical; no containment), active or not. */
  get(target: string): Ban | undefined {
    const slot = this.slotOf(target);
    return slot === undefined ? undefined : this.banAt(slot);
  }

  /** The version and node of the ban stored under exactly `target`, without building it. */
  stampOf(target: string): { version: number; node: string } | undefined {
    const slot = this.slotOf(target);
    return slot === undefined ? undefined : { version: this.versions[slot]!, node: this.labels.text(this.labelsOf[slot * 4 + 3]!) };
  }

  /** The active ban covering the canonical `ip`, if any. */
  match(ip: string): Ban | undefined {
    const direct = this.exactSlot(ip);
    if (direct !== undefined && this.active(direct)) return this.banAt(direct);
    const isV6 = ip.includes(':');
    const table = isV6 ? this.v6Networks : this.v4Networks;
    if (table.size === 0) return undefined;
    const bytes = ipaddr.parse(ip).toByteArray();
    for (const [bits, bucket] of table) {
      const slot = bucket.get(`${maskedText(bytes, bits)}/${bits}`);
      if (slot !== undefined && this.active(slot)) return this.banAt(slot);
    }
    return undefined;
  }

  /** Every active ban covering the canonical `ip`: its exact ban, then each network holding it, narrowest first. */
  covering(ip: string): Ban[] {
    const found: Ban[] = [];
    const direct = this.exactSlot(ip);
    if (direct !== undefined && this.active(direct)) found.push(this.banAt(direct));
    const table = ip.includes(':') ? this.v6Networks : this.v4Networks;
    if (table.size === 0) return found;
    const bytes = ipaddr.parse(ip).toByteArray();
    for (const bits of [...table.keys()].sort((a, b) => b - a)) {
      const slot = table.get(bits)!.get(`${maskedText(bytes, bits)}/${bits}`);
      if (slot !== undefined && this.active(slot)) found.push(this.banAt(slot));
    }
    return found;
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

  /** True when the ban in `slot` is active; an expired one is dropped. */
  private active(slot: number): boolean {
    const expiry = this.expiresAt[slot]!;
    if (Number.isNaN(expiry) || expiry > this.now()) return true;
    this.delete(this.targetAt(slot));
    return false;
  }

  private slotOf(target: string): number | undefined {
    // A canonical IP is its own key: no parsing on the resync and replication path.
    if (!target.includes('/')) return this.exactSlot(target);
    const place = this.placeOf(target, false);
    return place && this.find(place);
  }

  /** The slot of the exact address `ip` (canonical), if banned. */
  private exactSlot(ip: string): number | undefined {
    const v4 = v4Word(ip, true);
    if (v4 === undefined) return this.exact.get(ip);
    this.word[0] = v4;
    return this.v4Exact.get(this.word);
  }

  private find(place: Place): number | undefined {
    if (place.v4 === undefined) return place.map.get(place.key);
    this.word[0] = place.v4;
    return this.v4Exact.get(this.word);
  }

  /** Where `target` lives: an IPv4 number, or a map and key (a /32 or /128 is an exact address). */
  private placeOf(target: string, create: boolean): Place | undefined {
    if (!target.includes('/')) return this.exactPlace(target);
    const cidr = parseCidr(target);
    if (!cidr) return undefined;
    const full = cidr.family === 'ipv4' ? 32 : 128;
    if (cidr.bits === full) return this.exactPlace(cidr.text.slice(0, cidr.text.indexOf('/')));
    const bucket = cidr.family === 'ipv4' ? this.v4Networks : this.v6Networks;
    let map = bucket.get(cidr.bits);
    if (!map) {
      if (!create) return undefined;
      bucket.set(cidr.bits, (map = new Map()));
    }
    return { map, key: cidr.text, bucket, bits: cidr.bits };
  }

  private exactPlace(address: string): Place {
    // Only the canonical text (no leading zeros) is kept as a number: it is what comes back out.
    const v4 = v4Word(address, true);
    if (v4 !== undefined) return { v4, key: address };
    return { map: this.exact, key: address, bits: -1 };
  }

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
 * Where a target lives: an exact IPv4 address in the IPv4 table (`key` its text), or `map`
 * under `key` (`bucket` and `bits`: the prefix length's map, for a network).
 */
type Place =
  | { v4: number; key: string }
  | { v4?: undefined; map: Map<string, number>; key: string; bucket?: Map<number, Map<string, number>>; bits: number };

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

function maskedText(bytes: number[], bits: number): string {
  const masked = bytes.slice();
  for (let i = 0; i < masked.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    masked[i] = (masked[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return ipaddr.fromByteArray(masked).toString();
}

