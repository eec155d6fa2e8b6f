import type { IncomingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1 plus the common non-standard ones). */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/** Forwarding headers a client could forge; rebuilt by the proxy, never passed through. */
const FORWARDING = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-real-ip', 'forwarded', 'x-request-id'];

export interface ForwardingFacts {
  requestId: string;
  clientIp: string;
  /** Trusted proxies between the client and us (nearest to the client first), then the peer. */
  chain: string[];
  proto: 'http' | 'https';
  host: string | undefined;
}

/**
 * Rewrites `headers` in place for the upstream: removes hop-by-hop headers and every header
 * named in `Connection`, drops client-supplied forwarding headers, and sets
 * `X-Forwarded-For/-Proto/-Host`, `X-Real-IP` and `X-Request-Id` from what the proxy knows.
 * `keepUpgrade` keeps `Connection: upgrade` and `Upgrade` for WebSocket handshakes.
 */
export function prepareUpstreamHeaders(headers: IncomingHttpHeaders, facts: ForwardingFacts, keepUpgrade = false): void {
  const connection = headers.connection;
  if (connection) {
    for (const token of connection.split(',')) {
      const name = token.trim().toLowerCase();
      if (name && !(keepUpgrade && name === 'upgrade')) delete headers[name];
    }
  }
  const upgrade = headers.upgrade;
  for (const name of HOP_BY_HOP) delete headers[name];
  for (const name of FORWARDING) delete headers[name];
  if (keepUpgrade && upgrade) {
    headers.connection = 'upgrade';
    headers.upgrade = upgrade;
  }
  headers['x-forwarded-for'] = facts.chain.length > 0 ? [facts.clientIp, ...facts.chain].join(', ') : facts.clientIp;
  headers['x-forwarded-proto'] = facts.proto;
  if (facts.host !== undefined) headers['x-forwarded-host'] = facts.host;
  headers['x-real-ip'] = facts.clientIp;
  headers['x-request-id'] = facts.requestId;
}

/** Removes hop-by-hop headers (and those named in `Connection`) from an upstream response. */
export function stripResponseHopByHop(headers: Record<string, string | string[] | undefined>): void {
  const connection = headers.connection;
  if (typeof connection === 'string') {
    for (const token of connection.split(',')) {
      const name = token.trim().toLowerCase();
      if (name) delete headers[name];
    }
  }
  for (const name of ['keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'upgrade']) delete headers[name];
}
