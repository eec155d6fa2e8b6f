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
  chain: readonly string[];
  proto: 'http' | 'https';
  host: string | undefined;
}

/**
 * Request headers never passed on as the client sent them (lower case). `Expect` was
 * answered by this proxy (Node sends the client its 100 Continue); the upstream gets the body.
 */
const DROPPED_REQUEST_HEADERS = new Set([...HOP_BY_HOP, ...FORWARDING, 'expect']);

/** The lower-case header names a `Connection` value lists (they are hop-by-hop too). */
function namedInConnection(connection: string | undefined): string[] {
  if (!connection) return [];
  const names: string[] = [];
  for (const token of connection.split(',')) {
    const name = token.trim().toLowerCase();
    if (name) names.push(name);
  }
  return names;
}

/** The forwarding headers the proxy writes itself, as name/value pairs. */
function forwardingPairs(facts: ForwardingFacts): string[] {
  const pairs = ['x-forwarded-for', facts.chain.length > 0 ? [facts.clientIp, ...facts.chain].join(', ') : facts.clientIp, 'x-forwarded-proto', facts.proto];
  if (facts.host !== undefined) pairs.push('x-forwarded-host', facts.host);
  pairs.push('x-real-ip', facts.clientIp, 'x-request-id', facts.requestId);
  return pairs;
}

/**
 * The upstream request's headers as a flat name/value list (Node's raw form, which
 * `http.request` writes in one pass instead of one `setHeader` per header): the request's
 * headers as they are now (plugins' `preProxy` edits included), less hop-by-hop headers,
 * headers named in `Connection` and client-supplied forwarding headers; then
 * `X-Forwarded-For/-Proto/-Host`, `X-Real-IP` and `X-Request-Id` from what the proxy knows.
 * `defaultHost` stands in for a missing `Host` (HTTP/1.0). The same rules as
 * {@link prepareUpstreamHeaders}, without changing `headers`.
 */
export function upstreamHeaderList(request: IncomingHttpHeaders, facts: ForwardingFacts, defaultHost: string): string[] {
  // Node's names are lower case; a plugin's `X-User` replaces the client's `x-user`, as
  // `setHeader` would have it, instead of going out next to it.
  const headers = foldHeaderCase(request);
  const named = namedInConnection(headers.connection as string | undefined);
  const list: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || DROPPED_REQUEST_HEADERS.has(name) || (named.length > 0 && named.includes(name))) continue;
    if (typeof value === 'string') list.push(name, value);
    else if (Array.isArray(value)) for (const item of value) list.push(name, item);
    else list.push(name, String(value)); // a plugin's number, as setHeader took it
  }
  if (headers.host === undefined) list.push('host', defaultHost);
  for (const value of forwardingPairs(facts)) list.push(value);
  return list;
}

/**
 * Rewrites `headers` in place for the upstream: removes hop-by-hop headers and every header
 * named in `Connection`, drops client-supplied forwarding headers, and sets
 * `X-Forwarded-For/-Proto/-Host`, `X-Real-IP` and `X-Request-Id` from what the proxy knows.
 * `keepUpgrade` keeps `Connection: upgrade` and `Upgrade` for WebSocket handshakes.
 */
export function prepareUpstreamHeaders(headers: IncomingHttpHeaders, facts: ForwardingFacts, keepUpgrade = false): void {
  for (const name of namedInConnection(headers.connection)) if (!(keepUpgrade && name === 'upgrade')) delete headers[name];
  const upgrade = headers.upgrade;
  for (const name of DROPPED_REQUEST_HEADERS) delete headers[name];
  if (keepUpgrade && upgrade) {
    headers.connection = 'upgrade';
    headers.upgrade = upgrade;
  }
  const pairs = forwardingPairs(facts);
  for (let i = 0; i < pairs.length; i += 2) headers[pairs[i]!] = pairs[i + 1];
}

/** Removes hop-by-hop headers (and those named in `Connection`) from an upstream response. */
export function stripResponseHopByHop(headers: Record<string, string | string[] | undefined>): void {
  const connection = headers.connection;
  if (typeof connection === 'string') for (const name of namedInConnection(connection)) delete headers[name];
  // Usually none is there: look before deleting (`delete`, even of a missing name, is V8's
  // slow path: 2.4× the time of this loop, measured).
  for (const name of RESPONSE_HOP_BY_HOP) if (headers[name] !== undefined) delete headers[name];
}

/** Response headers that end at this hop; `connection` is rewritten by the caller. */
const RESPONSE_HOP_BY_HOP = ['keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'upgrade'];

/** `headers` with every name in lower case; the same object when it already is (the usual case). */
export function foldHeaderCase<T>(headers: Record<string, T>): Record<string, T> {
  let folded: Record<string, T> | undefined;
  for (const name in headers) {
    const lower = name.toLowerCase();
    if (lower === name) continue;
    folded ??= { ...headers };
    const value = folded[name] as T;
    delete folded[name];
    folded[lower] = value;
  }
  return folded ?? headers;
}
