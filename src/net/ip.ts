import ipaddr from 'ipaddr.js';

/** A dotted IPv4 address already in canonical form (no leading zeros, octets ≤ 255). */
const CANONICAL_V4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Canonical text of an IP address: IPv4-mapped IPv6 becomes IPv4, IPv6 is lowercased and
 * compressed. Returns undefined when `text` is not an IP address. Every IP Palisade keys
 * state by goes through here, so `::ffff:10.0.0.1` and `10.0.0.1` are the same client.
 */
export function canonicalIp(text: string): string | undefined {
  // The common case on the request path, without parsing.
  if (CANONICAL_V4.test(text)) return text;
  // A zone id (fe80::1%eth0) names an interface, not a client; drop it.
  const bare = text.includes('%') ? text.slice(0, text.indexOf('%')) : text;
  if (!ipaddr.isValid(bare)) return undefined;
  // ipaddr.isValid accepts legacy IPv4 forms ("10.1", "0x0a.0.0.1"); a client address is
  // always four decimal parts.
  if (!bare.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(bare)) return undefined;
  return ipaddr.process(bare).toString();
}

/** A parsed network: canonical address family, prefix bits and the canonical `ip/len` text. */
export interface Cidr {
  readonly family: 'ipv4' | 'ipv6';
  readonly bits: number;
  readonly text: string;
  readonly range: [ipaddr.IPv4 | ipaddr.IPv6, number];
}

/**
 * Parses `10.0.0.0/8`, `2001:db8::/32` or a bare IP (a /32 or /128). Host bits are cleared
 * (`10.1.2.3/8` → `10.0.0.0/8`). Returns undefined when the text is not a valid network.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const ipText = slash === -1 ? text : text.slice(0, slash);
  const ip = canonicalIp(ipText);
  if (ip === undefined) return undefined;
  const address = ipaddr.parse(ip);
  const family = address.kind();
  const maxBits = family === 'ipv4' ? 32 : 128;
  let bits = maxBits;
  if (slash !== -1) {
    const lenText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText)) return undefined;
    bits = Number(lenText);
    if (bits > maxBits) return undefined;
  }
  const network = networkAddress(address, bits);
  return { family, bits, text: `${network.toString()}/${bits}`, range: [network, bits] };
}

function networkAddress(address: ipaddr.IPv4 | ipaddr.IPv6, bits: number): ipaddr.IPv4 | ipaddr.IPv6 {
  const bytes = address.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i] = (bytes[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return ipaddr.fromByteArray(bytes);
}

/**
 * A fixed set of networks answering "is this canonical IP inside any of them?".
 * Built once at provision time; `has` does no allocation beyond parsing the address.
 */
export class CidrSet {
  private readonly v4: Array<[ipaddr.IPv4, number]> = [];
  private readonly v6: Array<[ipaddr.IPv6, number]> = [];
  /** The IPv4 networks as 32-bit (network, mask) pairs, for `has` without parsing. */
  private readonly v4Masks: number[] = [];

  constructor(cidrs: Iterable<Cidr>) {
    for (const cidr of cidrs) {
      if (cidr.family === 'ipv4') {
        const range = cidr.range as [ipaddr.IPv4, number];
        this.v4.push(range);
        const mask = range[1] === 0 ? 0 : (0xffffffff << (32 - range[1])) >>> 0;
        const [a, b, c, d] = range[0].octets as [number, number, number, number];
        this.v4Masks.push((((a << 24) | (b << 16) | (c << 8) | d) & mask) >>> 0, mask);
      } else this.v6.push(cidr.range as [ipaddr.IPv6, number]);
    }
  }

  /** Parses every entry; throws on an invalid one (settings are validated before this runs). */
  static from(texts: readonly string[]): CidrSet {
    return new CidrSet(
      texts.map((text) => {
        const cidr = parseCidr(text);
        if (!cidr) throw new TypeError(`not a CIDR: ${text}`);
        return cidr;
      }),
    );
  }

  get size(): number {
    return this.v4.length + this.v6.length;
  }

  /** True when the network `text` and one of the set's networks share an address. */
  overlaps(text: string): boolean {
    const cidr = parseCidr(text);
    if (!cidr) return false;
    const ranges = cidr.family === 'ipv4' ? this.v4 : this.v6;
    // Two networks overlap exactly when one contains the other's first address.
    return ranges.some(([network, bits]) => {
      const [other, otherBits] = cidr.range;
      return (other as typeof network).match(network, bits) || network.match(other as typeof network, otherBits);
    });
  }

  /** True when `ip` (canonical, as from {@link canonicalIp}) is inside one of the networks. */
  has(ip: string): boolean {
    if (this.size === 0) return false;
    // The request path's case: canonical dotted IPv4, compared as a 32-bit number.
    const v4 = parseCanonicalV4(ip);
    if (v4 !== -1) {
      const masks = this.v4Masks;
      for (let i = 0; i < masks.length; i += 2) if ((v4 & masks[i + 1]!) >>> 0 === masks[i]) return true;
      return false;
    }
    const address = ipaddr.parse(ip);
    if (address.kind() === 'ipv4') {
      const v4 = address as ipaddr.IPv4;
      return this.v4.some((range) => v4.match(range));
    }
    const v6 = address as ipaddr.IPv6;
    return this.v6.some((range) => v6.match(range));
  }
}

/**
 * `a.b.c.d` in canonical form (decimal octets ≤ 255, no leading zero) as an unsigned 32-bit
 * number; -1 for anything else (other IPv4 spellings, IPv6), which the caller parses fully.
 */
function parseCanonicalV4(text: string): number {
  const length = text.length;
  if (length < 7 || length > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (code >= 48 && code <= 57) {
      if (digits === 1 && octet === 0) return -1; // leading zero
      octet = octet * 10 + (code - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else return -1;
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

/** True for 127.0.0.0/8 and ::1 (canonical input). */
export function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}

/**
 * The 32-bit value of a dotted IPv4 address; undefined when it is not one. Leading zeros
 * (`010.0.0.1`) are accepted unless `canonical`, which takes only the text {@link v4Text}
 * writes back.
 */
export function v4Word(text: string, canonical = false): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      if (canonical && digits === 1 && octet === 0) return undefined;
      octet = octet * 10 + (c - 48);
      digits++;
      if (octet > 255) return undefined;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return (value * 256 + octet) >>> 0;
}

/** The dotted text of a 32-bit IPv4 value (canonical: no leading zeros). */
export function v4Text(word: number): string {
  return `${word >>> 24}.${(word >>> 16) & 255}.${(word >>> 8) & 255}.${word & 255}`;
}

/** Canonical ban target for user input (IP or CIDR; a whole-length prefix is the address); undefined when invalid. */
export function canonicalTarget(text: string): string | undefined {
  if (!text.includes('/')) return canonicalIp(text);
  const cidr = parseCidr(text);
  if (!cidr) return undefined;
  const full = cidr.family === 'ipv4' ? 32 : 128;
  return cidr.bits === full ? cidr.text.slice(0, cidr.text.indexOf('/')) : cidr.text;
}
