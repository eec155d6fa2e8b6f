/** Derives the request-line variables (REQUEST_URI, REQUEST_FILENAME, QUERY_STRING…) from a WafRequest. */
import { hexPair, isHexPair } from '../transformations/url.js';
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
  const abs = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(raw);
  if (abs) uri = raw.slice(abs[0].length) || '/';
  const q = uri.indexOf('?');
  const filename = percentDecode(q < 0 ? uri : uri.slice(0, q));
  const queryString = q < 0 ? '' : uri.slice(q + 1);
  const slash = Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\'));
  const basename = slash < 0 ? filename : filename.slice(slash + 1);
  return {
    method: req.method, protocol: req.protocol, uri, uriRaw: raw, filename, basename, queryString,
    requestLine: `${req.method} ${raw} ${req.protocol}`,
  };
}

/** Parses a Cookie header into name/value pairs (`;`-separated, values kept as sent). */
export function parseCookies(header: string): Array<{ key: string; value: string }> {
  const out: Array<{ key: string; value: string }> = [];
  for (const part of header.split(';')) {
    const t = part.replace(/^[ \t]+/, '');
    if (t === '') continue;
    const eq = t.indexOf('=');
    if (eq < 0) out.push({ key: t, value: '' });
    else out.push({ key: t.slice(0, eq), value: t.slice(eq + 1) });
  }
  return out;
}
