/** Derives the request-line variables (REQUEST_URI, REQUEST_FILENAME, QUERY_STRING…) from a WafRequest. */
import { hexPair, isHexPair } from '../transformations/url.js';
import type { Pair } from '../body/types.js';
import type { WafRequest } from '../types.js';

/** `%XX` decoding only (no `+` to space), as the web server decodes a path. */
function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  return s.replace(/%(..)/g, (m, _h: string, offset: number) => (isHexPair(s, offset + 1) ? String.fromCharCode(hexPair(s, offset + 1)) : m));
}

/** The request-line variables, as byte strings. */
export interface RequestLineVars {
  method: string;
  protocol: string;
  /** Request target without scheme/authority (absolute-form targets are reduced to path+query). */
  uri: string;
  /** Request target exactly as received. */
  uriRaw: string;
  /** Path part of `uri`, percent-decoded (as ModSecurity 2 on Apache sees it). */
  filename: string;
  /** Last path segment of `filename`. */
  basename: string;
  /** After the first '?', not decoded ('' when absent). */
  queryString: string;
  requestLine: string;
}

/** Splits the request target. */
export function requestLineVars(req: WafRequest): RequestLineVars {
  const raw = req.uri;
  let uri = raw;
  // Origin-form targets ("/…", the usual case) need no scheme check.
  const abs = raw.charCodeAt(0) === 0x2f ? null : /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(raw);
  if (abs) uri = raw.slice(abs[0].length) || '/';
  const q = uri.indexOf('?');
  const filename = percentDecode(q < 0 ? uri : uri.slice(0, q));
  const queryString = q < 0 ? '' : uri.slice(q + 1);
  const slash = Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\'));
  const basename = slash < 0 ? filename : filename.slice(slash + 1);
  return {
    method: req.method,
    protocol: req.protocol,
    uri,
    uriRaw: raw,
    filename,
    basename,
    queryString,
    requestLine: `${req.method} ${raw} ${req.protocol}`,
  };
}

/** Parses a Cookie header into name/value pairs (`;`-separated, values kept as sent), appending to `out`. */
export function parseCookies(header: string, out: Pair[] = []): Pair[] {
  for (const part of header.split(';')) {
    let start = 0;
    while (start < part.length && (part.charCodeAt(start) === 0x20 || part.charCodeAt(start) === 0x09)) start++;
    if (start === part.length) continue;
    const eq = part.indexOf('=', start);
    if (eq < 0) out.push({ key: part.slice(start), value: '' });
    else out.push({ key: part.slice(start, eq), value: part.slice(eq + 1) });
  }
  return out;
}

/** What the transaction needs from the header list, read in one pass. */
export interface HeaderInfo {
  headers: Pair[];
  cookies: Pair[];
  host: string;
  contentType: string;
  /** Length of the longest value. */
  longest: number;
}

/** ASCII case-insensitive comparison of a header name with a lower-case name. */
function nameIs(name: string, lower: string): boolean {
  return name.length === lower.length && (name === lower || name.toLowerCase() === lower);
}

/** Collects header pairs, cookies, Host and Content-Type (first occurrence) in one pass. */
export function readHeaders(list: ReadonlyArray<readonly [string, string]>): HeaderInfo {
  const info: HeaderInfo = { headers: new Array<Pair>(list.length), cookies: [], host: '', contentType: '', longest: 0 };
  let host = false;
  let contentType = false;
  for (let i = 0; i < list.length; i++) {
    const [key, value] = list[i] as readonly [string, string];
    info.headers[i] = { key, value };
    if (value.length > info.longest) info.longest = value.length;
    if (nameIs(key, 'cookie')) parseCookies(value, info.cookies);
    else if (!host && nameIs(key, 'host')) {
      host = true;
      info.host = value;
    } else if (!contentType && nameIs(key, 'content-type')) {
      contentType = true;
      info.contentType = value;
    }
  }
  return info;
}

/** SERVER_NAME: the Host header without port, IPv6 brackets removed. */
export function serverNameOf(host: string): string {
  let name = host;
  const colon = name.lastIndexOf(':');
  if (colon >= 0 && colon < name.length - 1 && /^\d+$/.test(name.slice(colon + 1))) name = name.slice(0, colon);
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  return name;
}
