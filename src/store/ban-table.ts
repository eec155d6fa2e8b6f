import { canonicalIp, parseCidr } from '../net/ip.js';
import ipaddr from 'ipaddr.js';
import type { Ban } from './types.js';

/**
 * The in-memory table of active bans that the ban gate reads on every request.
 * Exact IPs live in one Map (O(1)); networks live in one Map per prefix length, so a lookup
 * costs one probe per prefix length in use (at most 33 for IPv4, 129 for IPv6).
 * Expired entries are dropped lazily on lookup and by `sweep`.
 */
export class BanTable {
  private readonly exact = new Map<string, Ban>();
  /** prefix bits → network text → ban, per family. */
  private readonly v4Networks = new Map<number, Map<string, Ban>>();
  private readonly v6Networks = new Map<number, Map<string, Ban>>();

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    let size = this.exact.size;
    for (const table of [this.v4Networks, this.v6Networks]) for (const bucket of table.values()) size += bucket.size;
    return size;
  }

  /** Inserts or replaces the ban for `ban.target` (canonical IP or CIDR text). */
  set(ban: Ban): void {
    const slash = ban.target.indexOf('/');
    if (slash === -1) {
      this.exact.set(ban.target, ban);
      return;
    }
    const cidr = parseCidr(ban.target);
    if (!cidr) throw new TypeError(`not a ban target: ${ban.target}`);
    const full = cidr.family === 'ipv4' ? 32 : 128;
    if (cidr.bits === full) {
      this.exact.set(cidr.text.slice(0, cidr.text.indexOf('/')), ban);
      return;
    }
    const table = cidr.family === 'ipv4' ? this.v4Networks : this.v6Networks;
    let bucket = table.get(cidr.bits);
    if (!bucket) table.set(cidr.bits, (bucket = new Map()));
    bucket.set(cidr.text, ban);
  }

  /** Removes the ban on `target` (canonical); true when one was there. */
  delete(target: string): boolean {
    if (!target.includes('/')) return this.exact.delete(target);
    const cidr = parseCidr(target);
    if (!cidr) return false;
    const full = cidr.family === 'ipv4' ? 32 : 128;
    if (cidr.bits === full) return this.exact.delete(cidr.text.slice(0, cidr.text.indexOf('/')));
    const table = cidr.family === 'ipv4' ? this.v4Networks : this.v6Networks;
    const bucket = table.get(cidr.bits);
    if (!bucket?.delete(cidr.text)) return false;
    if (bucket.size === 0) table.delete(cidr.bits);
    return true;
  }

  /** The ban stored under exactly `target` (canonical; no containment), active or not. */
  get(target: string): Ban | undefined {
    // A canonical IP is its own key: no parsing on the resync and replication path.
    if (!target.includes('/')) return this.exact.get(target);
    const cidr = parseCidr(target);
    if (!cidr) return undefined;
    const full = cidr.family === 'ipv4' ? 32 : 128;
    if (cidr.bits === full) return this.exact.get(cidr.text.slice(0, cidr.text.indexOf('/')));
    return (cidr.family === 'ipv4' ? this.v4Networks : this.v6Networks).get(cidr.bits)?.get(cidr.text);
  }

  /** The active ban covering the canonical `ip`, if any. */
  match(ip: string): Ban | undefined {
    const direct = this.exact.get(ip);
    if (direct && this.active(direct, ip)) return direct;
    const isV6 = ip.includes(':');
    const table = isV6 ? this.v6Networks : this.v4Networks;
    if (table.size === 0) return undefined;
    const bytes = ipaddr.parse(ip).toByteArray();
    for (const [bits, bucket] of table) {
      const ban = bucket.get(`${maskedText(bytes, bits)}/${bits}`);
      if (ban && this.active(ban, ban.target)) return ban;
    }
    return undefined;
  }

  /** Every active ban. */
  list(): Ban[] {
    const out: Ban[] = [];
    const now = this.now();
    const keep = (ban: Ban) => (ban.expiresAt === null || ban.expiresAt > now) && out.push(ban);
    this.exact.forEach(keep);
    for (const table of [this.v4Networks, this.v6Networks]) for (const bucket of table.values()) bucket.forEach(keep);
    return out;
  }

  /** Drops every expired ban; returns the bans that went. */
  sweep(): Ban[] {
    const removed: Ban[] = [];
    const now = this.now();
    const expired = (ban: Ban): boolean => ban.expiresAt !== null && ban.expiresAt <= now;
    for (const ban of [...this.exact.values()]) if (expired(ban) && this.delete(ban.target)) removed.push(ban);
    for (const table of [this.v4Networks, this.v6Networks]) {
      for (const bucket of [...table.values()]) {
        for (const ban of [...bucket.values()]) if (expired(ban) && this.delete(ban.target)) removed.push(ban);
      }
    }
    return removed;
  }

  private active(ban: Ban, key: string): boolean {
    if (ban.expiresAt === null || ban.expiresAt > this.now()) return true;
    this.delete(key);
    return false;
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

/** Canonical ban target for user input (IP or CIDR); undefined when invalid. */
export function canonicalTarget(text: string): string | undefined {
  if (!text.includes('/')) return canonicalIp(text);
  const cidr = parseCidr(text);
  if (!cidr) return undefined;
  const full = cidr.family === 'ipv4' ? 32 : 128;
  return cidr.bits === full ? cidr.text.slice(0, cidr.text.indexOf('/')) : cidr.text;
}
