import { CidrSet, canonicalIp } from '../net/ip.js';

/** The outcome of resolving one request's client. */
export interface ResolvedClient {
  /** Canonical client IP. */
  ip: string;
  /** Canonical socket peer. */
  peer: string;
  /** Trusted proxies the request passed through, nearest to us first, the peer excluded. */
  trustedHops: string[];
  /** True when the peer is trusted and its header was read. */
  trustedPeer: boolean;
}

/** How the client IP is resolved, compiled once from the settings. */
export interface ClientIpResolver {
  /**
   * The canonical client IP of a request and the trusted hops it passed through
   * (right to left: nearest first, the socket peer excluded).
   */
  resolve(peer: string | undefined, header: string | string[] | undefined): ResolvedClient;
  /** True when `ip` (canonical) is one of the trusted proxies. */
  isTrusted(ip: string): boolean;
  /** Lower-case name of the header read. */
  readonly headerName: string;
}

/**
 * Builds the resolver. The header is only believed when the socket peer is trusted; it is
 * read right to left, skipping trusted hops when `recursive`, and the first untrusted (or,
 * not recursive, the right-most) valid entry is the client. An invalid entry stops the walk
 * and the last trusted address is kept, so garbage never becomes a client IP.
 */
export function createClientIpResolver(options: {
  useRealIp: boolean;
  trusted: readonly string[];
  header: string;
  recursive: boolean;
}): ClientIpResolver {
  const trusted = CidrSet.from(options.trusted);
  const headerName = options.header.toLowerCase();
  return {
    headerName,
    isTrusted: (ip) => trusted.has(ip),
    resolve(peer, header) {
      const peerIp = (peer && canonicalIp(peer)) || '0.0.0.0';
      if (!options.useRealIp || header === undefined || !trusted.has(peerIp)) {
        return { ip: peerIp, peer: peerIp, trustedHops: [], trustedPeer: false };
      }
      const entries = (Array.isArray(header) ? header.join(',') : header).split(',');
      const hops: string[] = [];
      let client = peerIp;
      for (let i = entries.length - 1; i >= 0; i--) {
        const entry = canonicalIp(stripPort((entries[i] as string).trim()));
        if (entry === undefined) break;
        client = entry;
        if (!options.recursive || !trusted.has(entry)) break;
        hops.push(entry);
      }
      // The client itself is not a hop.
      if (hops[hops.length - 1] === client) hops.pop();
      return { ip: client, peer: peerIp, trustedHops: hops, trustedPeer: true };
    },
  };
}

/** Accepts `1.2.3.4:5678` and `[2001:db8::1]:443` as some proxies write them. */
function stripPort(entry: string): string {
  if (entry.startsWith('[')) {
    const end = entry.indexOf(']');
    return end === -1 ? entry : entry.slice(1, end);
  }
  const colon = entry.indexOf(':');
  return colon !== -1 && colon === entry.lastIndexOf(':') ? entry.slice(0, colon) : entry;
}
