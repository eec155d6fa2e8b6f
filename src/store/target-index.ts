import ipaddr from 'ipaddr.js';
import { v4Text, v4Word } from '../net/ip.js';
import { AddressTable } from './address-table.js';

/**
 * Which addresses and networks are banned, each with a number: the one index under both ban
 * sets — a worker's (the number is the ban's expiry) and the node's `BanTable` (the number
 * is the ban's slot in its columns). Exact addresses are one probe; networks one probe per
 * prefix length in use, with no allocation for IPv4. Targets are canonical (`203.0.113.7`,
 * `203.0.113.0/24`, `2001:db8::/32`): any other spelling is not a target here.
 */
export class TargetIndex {
  private readonly v4 = new AddressTable(1);
  private readonly v6 = new AddressTable(4);
  /** Prefix length → table of network addresses, per family. */
  private readonly v4Networks = new Map<number, AddressTable>();
  private readonly v6Networks = new Map<number, AddressTable>();
  /** Scratch words for lookups: no allocation per request for IPv4. */
  private readonly word = new Uint32Array(4);

  /** Entries held. */
  get size(): number {
    let size = this.v4.size + this.v6.size;
    for (const tables of [this.v4Networks, this.v6Networks]) for (const table of tables.values()) size += table.size;
    return size;
  }

  /** Inserts or replaces `target`'s number; false when the text is not a canonical target. */
  set(target: string, value: number): boolean {
    // The common case (an IPv4 address) without allocating.
    if (!target.includes('/') && !target.includes(':')) {
      const word = v4Word(target, true);
      if (word === undefined) return false;
      this.word[0] = word;
      this.v4.set(this.word, value);
      return true;
    }
    const place = this.place(target, true);
    if (!place) return false;
    place.table.set(place.key, value);
    return true;
  }

  /** Removes `target`; true when it was there. */
  delete(target: string): boolean {
    const place = this.place(target, false);
    if (!place?.table.delete(place.key)) return false;
    if (place.bits !== undefined && place.table.size === 0) (target.includes(':') ? this.v6Networks : this.v4Networks).delete(place.bits);
    return true;
  }

  /** The number stored under exactly `target` (no containment), if any. */
  get(target: string): number | undefined {
    if (!target.includes('/') && !target.includes(':')) {
      const word = v4Word(target, true);
      if (word === undefined) return undefined;
      this.word[0] = word;
      return this.v4.get(this.word);
    }
    const place = this.place(target, false);
    return place?.table.get(place.key);
  }

  /**
   * The first entry covering the canonical `ip` that `accept` takes: the address itself,
   * then each network holding it (in the order their prefix lengths were first used).
   */
  match(ip: string, accept: (value: number) => boolean): { target: string; value: number } | undefined {
    if (ip.includes(':')) {
      const words = v6Words(ip, this.word);
      if (!words) return undefined;
      const exact = this.v6.get(words);
      if (exact !== undefined && accept(exact)) return { target: ip, value: exact };
      if (this.v6Networks.size === 0) return undefined;
      const masked = new Uint32Array(4);
      for (const [bits, table] of this.v6Networks) {
        const value = table.get(maskV6(words, bits, masked));
        if (value !== undefined && accept(value)) return { target: `${v6Text(masked)}/${bits}`, value };
      }
      return undefined;
    }
    const address = v4Word(ip);
    if (address === undefined) return undefined;
    this.word[0] = address;
    const exact = this.v4.get(this.word);
    if (exact !== undefined && accept(exact)) return { target: ip, value: exact };
    for (const [bits, table] of this.v4Networks) {
      this.word[0] = maskV4(address, bits);
      const value = table.get(this.word);
      if (value !== undefined && accept(value)) return { target: `${v4Text(this.word[0])}/${bits}`, value };
    }
    return undefined;
  }

  /** Every entry covering the canonical `ip`: the address itself, then each network holding it, narrowest first. */
  covering(ip: string): number[] {
    const found: number[] = [];
    const v6 = ip.includes(':');
    const words = v6 ? v6Words(ip, new Uint32Array(4)) : undefined;
    const address = v6 ? undefined : v4Word(ip);
    if (v6 ? words === undefined : address === undefined) return found;
    const exact = v6 ? this.v6.get(words!) : this.v4.get(Uint32Array.of(address!));
    if (exact !== undefined) found.push(exact);
    const networks = v6 ? this.v6Networks : this.v4Networks;
    for (const bits of [...networks.keys()].sort((a, b) => b - a)) {
      const key = v6 ? maskV6(words!, bits, new Uint32Array(4)) : Uint32Array.of(maskV4(address!, bits));
      const value = networks.get(bits)!.get(key);
      if (value !== undefined) found.push(value);
    }
    return found;
  }

  /** Drops every entry whose number `drop` says goes; returns how many went. */
  sweep(drop: (value: number) => boolean): number {
    let removed = this.v4.sweep(drop) + this.v6.sweep(drop);
    for (const tables of [this.v4Networks, this.v6Networks]) {
      for (const [bits, table] of tables) {
        removed += table.sweep(drop);
        if (table.size === 0) tables.delete(bits);
      }
    }
    return removed;
  }

  /** Forgets everything. */
  clear(): void {
    this.v4.sweep(() => true);
    this.v6.sweep(() => true);
    this.v4Networks.clear();
    this.v6Networks.clear();
  }

  /** The table and key words of a canonical target (`bits` for a network); undefined when it is not one. */
  private place(target: string, create: boolean): { table: AddressTable; key: Uint32Array; bits?: number } | undefined {
    const slash = target.indexOf('/');
    const address = slash === -1 ? target : target.slice(0, slash);
    const v6 = address.includes(':');
    const full = v6 ? 128 : 32;
    const bits = slash === -1 ? full : Number(target.slice(slash + 1));
    if (!Number.isInteger(bits) || bits < 0 || bits > full || (slash !== -1 && bits === full)) return undefined;
    let key: Uint32Array;
    if (v6) {
      const words = v6Words(address, new Uint32Array(4));
      if (!words || (slash === -1 && v6Text(words) !== address)) return undefined;
      key = words;
    } else {
      const word = v4Word(address, true);
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
    return { table, key: v6 ? maskV6(key, bits, key) : Uint32Array.of(maskV4(key[0]!, bits)), bits };
  }
}

/** `address` with every bit past `bits` cleared. */
function maskV4(address: number, bits: number): number {
  return bits === 0 ? 0 : (address & (~0 << (32 - bits))) >>> 0;
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
