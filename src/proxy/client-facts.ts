import type { IncomingMessage } from 'node:http';
import { CidrSet, canonicalIp, isLoopback } from '../net/ip.js';
import type { CoreSettings } from '../settings/types.generated.js';

/** What the core knows about the client of one request, resolved once before any plugin runs. */
export interface ClientFacts {
  /** Canonical client IP: the socket peer, or what a trusted proxy said. */
  readonly ip: string;
  /** Canonical socket peer. */
  readonly peer: string;
  /**
   * True when the peer is a trusted proxy (`USE_REAL_IP=yes` and the peer in `REAL_IP_FROM`):
   * its `REAL_IP_HEADER`, `X-Forwarded-Proto` and `X-Forwarded-Host` are believed.
   */
  readonly trustedPeer: boolean;
  /** Trusted proxies between the client and the peer, nearest to the client first, then the peer; empty when the client is the peer. */
  readonly chain: readonly string[];
  /** The scheme the client used: the peer's `X-Forwarded-Proto` when trusted, else this connection's. */
  readonly scheme: 'http' | 'https';
  /**
   * True when the client is part of the infrastructure, not a visitor: loopback or an address
   * in `REAL_IP_FROM` (health checks, the load balancer speaking for itself).
   */
  readonly infrastructure: boolean;
}

/** Resolves {@link ClientFacts}; the one place `REAL_IP_FROM` is compiled. */
export interface ClientResolver {
  /** The facts of `req`, from its socket and (from a trusted peer only) its forwarding headers. */
  resolve(req: IncomingMessage): ClientFacts;
  /** True when the network or address `target` (canonical) holds a trusted proxy. */
  holdsTrustedProxy(target: string): boolean;
}

export interface ClientResolverOptions {
  useRealIp: boolean;
  /** `REAL_IP_FROM`. */
  trusted: readonly string[];
  /** `REAL_IP_HEADER`. */
  header: string;
  recursive: boolean;
}

/** The facts of a connection from an untrusted peer, kept on the socket: they cannot change. */
const PEER_FACTS = Symbol('palisade.peerFacts');
type TrackedSocket = IncomingMessage['socket'] & { [PEER_FACTS]?: ClientFacts };

const NO_CHAIN: readonly string[] = Object.freeze([]);

/** The resolver the settings describe (`USE_REAL_IP`, `REAL_IP_FROM`, `REAL_IP_HEADER`, `REAL_IP_RECURSIVE`). */
export function clientResolverFor(settings: Pick<CoreSettings, 'USE_REAL_IP' | 'REAL_IP_FROM' | 'REAL_IP_HEADER' | 'REAL_IP_RECURSIVE'>): ClientResolver {
  return createClientResolver({
    useRealIp: settings.USE_REAL_IP,
    trusted: settings.REAL_IP_FROM,
    header: settings.REAL_IP_HEADER,
    recursive: settings.REAL_IP_RECURSIVE,
  });
}

/**
 * Builds the resolver. A trusted peer's header is read right to left, skipping trusted hops
 * when `recursive`; the first untrusted (or, not recursive, the right-most) valid entry is
 * the client. An invalid entry stops the walk and the last trusted address is kept, so
 * garbage never becomes a client IP. Requests from an untrusted peer — most traffic — cost
 * one property read: their facts are resolved once per connection.
 */
export function createClientResolver(options: ClientResolverOptions): ClientResolver {
  const trusted = CidrSet.from(options.trusted);
  const headerName = options.header.toLowerCase();
  const isInfrastructure = (ip: string): boolean => isLoopback(ip) || trusted.has(ip);

  const throughProxy = (req: IncomingMessage, peer: string): ClientFacts => {
    const header = req.headers[headerName];
    const hops: string[] = [];
    let client = peer;
    if (header !== undefined) {
      const entries = (Array.isArray(header) ? header.join(',') : header).split(',');
      for (let i = entries.length - 1; i >= 0; i--) {
        const entry = canonicalIp(stripPort((entries[i] as string).trim()));
        if (entry === undefined) break;
        client = entry;
        if (!options.recursive || !trusted.has(entry)) break;
        hops.push(entry);
      }
      // The client itself is not a hop.
      if (hops[hops.length - 1] === client) hops.pop();
    }
    return {
      ip: client,
      peer,
      trustedPeer: true,
      chain: client === peer ? NO_CHAIN : hops.reverse().concat(peer),
      scheme: forwardedScheme(req.headers['x-forwarded-proto']) ?? ownScheme(req.socket),
      infrastructure: isInfrastructure(client),
    };
  };

  return {
    resolve(req) {
      const socket = req.socket as TrackedSocket;
      const cached = socket[PEER_FACTS];
      if (cached) return cached;
      const peer = (socket.remoteAddress && canonicalIp(socket.remoteAddress)) || '0.0.0.0';
      if (options.useRealIp && trusted.has(peer)) return throughProxy(req, peer);
      const facts: ClientFacts = { ip: peer, peer, trustedPeer: false, chain: NO_CHAIN, scheme: ownScheme(socket), infrastructure: isInfrastructure(peer) };
      socket[PEER_FACTS] = facts;
      return facts;
    },
    holdsTrustedProxy: (target) => (target.includes('/') ? trusted.overlaps(target) : trusted.has(target)),
  };
}

/**
 * `http` or `https` from a trusted `X-Forwarded-Proto`; undefined for anything else. Of a
 * list (proxies that append), the right-most entry: the one our trusted peer wrote itself —
 * the entries before it come from hops it may not vouch for.
 */
function forwardedScheme(value: string | string[] | undefined): 'http' | 'https' | undefined {
  if (value === undefined) return undefined;
  const joined = Array.isArray(value) ? value.join(',') : value;
  const last = joined
    .slice(joined.lastIndexOf(',') + 1)
    .trim()
    .toLowerCase();
  return last === 'https' || last === 'http' ? last : undefined;
}

function ownScheme(socket: IncomingMessage['socket']): 'http' | 'https' {
  return (socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
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
