import ipaddr from 'ipaddr.js';
import { v4Text, v4Word } from '../net/ip.js';
import { AddressTable } from './address-table.js';
import type { BanEntry } from './types.js';

/**
 * What a worker needs to enforce bans: which addresses and networks are banned, and until
 * when. No records (reason, evidence, versions): those stay with the process that holds the
 * node's store. Exact addresses are one probe; networks one probe per prefix length in use.
 * Targets are canonical (`203.0.113.7`, `203.0.113.0/24`, `2001:db8::/32`).
 */
export class BanMembership {
  private readonly v4 = new AddressTable(1);
  private readonly v6 = new AddressTable(4);
  /** Prefix length → table of network addresses, per family. */
  private readonly v4Networks = new Map<number, AddressTable>();
  private readonly v6Networks = new Map<number, AddressTable>();
  /** Scratch words for lookups: no allocation per request for IPv4. */
  private readonly word = new Uint32Array(4);

  constructor(private readonly now: () => number = Date.now) {}

  /** Entries held (expired ones until the next {@link sweep}). */
  get size(): number {
    let size = this.v4.size + this.v6.size;
    for (const tables of [this.v4Networks, this.v6Networks]) for (const table of tables.values()) size += table.size;
    return size;
  }

  /** Inserts or replaces `target`'s entry; false when the text is not a canonical target. */
  set(target: string, expiresAt: number | null): boolean {
    // The common case (an IPv4 address) without allocating.
    if (!target.includes('/') && !target.includes(':')) {
      const word = v4Word(target);
      if (word === undefined) return false;
      this.word[0] = word;
      this.v4.set(this.word, expiresAt ?? Infinity);
      return true;
    }
    const place = this.place(target, true);
    if (!place) return false;
    place.table.set(place.key, expiresAt ?? Infinity);
    return true;
  }

  /** Removes `target`'s entry; true when it was there. */
  delete(target: string): boolean {
    const place = this.place(target, false);
    return place ? place.table.delete(place.key) : false;
  }

  /** The active entry stored under exactly `target`, if any. */
  get(target: string): BanEntry | undefined {
    const place = this.place(target, false);
    const expiry = place?.table.get(place.key);
    return expiry !== undefined && expiry > this.now() ? entry(target, expiry) : undefined;
  }

  /** The active entry covering the canonical `ip` (exact first, then networks), if any. */
  match(ip: string): BanEntry | undefined {
    const now = this.now();
    if (ip.includes(':')) {
      const words = v6Words(ip, this.word);
      if (!words) return undefined;
      const exact = this.v6.get(words);
      if (exact !== undefined && exact > now) return entry(ip, exact);
      if (this.v6Networks.size === 0) return undefined;
      const masked = new Uint32Array(4);
      for (const [bits, table] of this.v6Networks) {
        maskV6(words, bits, masked);
        const expiry = table.get(masked);
        if (expiry !== undefined && expiry > now) return entry(`${v6Text(masked)}/${bits}`, expiry);
      }
      return undefined;
    }
    const address = v4Word(ip);
    if (address === undefined) return undefined;
    this.word[0] = address;
    const exact = this.v4.get(this.word);
    if (exact !== undefined && exact > now) return entry(ip, exact);
    for (const [bits, table] of this.v4Networks) {
      this.word[0] = bits === 0 ? 0 : (address & (~0 << (32 - bits))) >>> 0;
      const expiry = table.get(this.word);
      if (expiry !== undefined && expiry > now) return entry(`${v4Text(this.word[0])}/${bits}`, expiry);
    }
    return undefined;
  }

  /** Drops expired entries; returns how many went. */
  sweep(): number {
    const now = this.now();
    let removed = this.v4.sweep(now) + this.v6.sweep(now);
    for (const tables of [this.v4Networks, this.v6Networks]) {
      for (const [bits, table] of tables) {
        removed += table.sweep(now);
        if (table.size === 0) tables.delete(bits);
      }
    }
    return removed;
  }

  /** Forgets everything (a new snapshot follows). */
  clear(): void {
    for (const table of [this.v4, this.v6]) table.sweep(Infinity);
    this.v4Networks.clear();
    this.v6Networks.clear();
  }

  /** The table and key words of a canonical target; undefined when it is not one. */
  private place(target: string, create: boolean): { table: AddressTable; key: Uint32Array } | undefined {
    const slash = target.indexOf('/');
    const address = slash === -1 ? target : target.slice(0, slash);
    const v6 = address.includes(':');
    const full = v6 ? 128 : 32;
    const bits = slash === -1 ? full : Number(target.slice(slash + 1));
    if (!Number.isInteger(bits) || bits < 0 || bits > full) return undefined;
    let key: Uint32Array;
    if (v6) {
      const words = v6Words(address, new Uint32Array(4));
      if (!words) return undefined;
      key = words;
    } else {
      const word = v4Word(address);
      if (word === undefined) return undefined;
      key = Uint32Array.of(word);
    }
    if (bits === full) return { table: v6 ? this.v6 : this.v4, key };
    const tables = v6 ? this.v6Networks : this.v4Networks;
    let table = tables.get(bits);
    if (!table) {
      if (!create) return undefined;
      tables.set(bits, (table = new AddressTable(v6 ? 4 : 1)));
    }
    return { table, key: v6 ? maskV6(key, bits, key) : Uint32Array.of(bits === 0 ? 0 : (key[0]! & (~0 << (32 - bits))) >>> 0) };
  }
}

function entry(target: string, expiry: number): BanEntry {
  return { target, expiresAt: expiry === Infinity ? null : expiry };
}

/** The four 32-bit words of an IPv6 address, written into `out`; undefined when invalid. */
function v6Words(text: string, out: Uint32Array): Uint32Array | undefined {
  if (!ipaddr.IPv6.isValid(text)) return undefined;
  const parts = ipaddr.IPv6.parse(text).parts;
  for (let i = 0; i < 4; i++) out[i] = ((parts[i * 2]! << 16) | parts[i * 2 + 1]!) >>> 0;
  return out;
}

function v6Text(words: Uint32Array): string {
  const parts: number[] = [];
  for (const word of words) parts.push(word >>> 16, word & 0xffff);
  return new ipaddr.IPv6(parts).toString();
}

/** `words` with every bit past `bits` cleared, written into `out` (may be `words`). */
function maskV6(words: Uint32Array, bits: number, out: Uint32Array): Uint32Array {
  for (let i = 0; i < 4; i++) {
    const keep = Math.max(0, Math.min(32, bits - i * 32));
    out[i] = keep === 0 ? 0 : keep === 32 ? words[i]! : (words[i]! & (~0 << (32 - keep))) >>> 0;
  }
  return out;
}
