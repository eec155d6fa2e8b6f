import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import type { ErrorCode } from '../errors.js';

/** Why the proxy refuses a request before anything else looks at it. */
export interface Refusal {
  status: number;
  /** Metric and access-log reason, e.g. `bad_request.host`. */
  reason: string;
  code: ErrorCode;
}

/**
 * `reg-name` and `IPv4address` (RFC 3986 §3.2.2): unreserved, sub-delims and
 * percent-encoded octets. An IPv4 address is a reg-name too, so one pattern covers both.
 */
const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;
/** `IPvFuture` inside brackets (the `v` is case-insensitive, as every ABNF literal). */
const IP_FUTURE = /^[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$/;
/** `IPv6address` as RFC 3986 writes it: hex, colons and a trailing dotted quad; no zone id. */
const IPV6_CHARS = /^[0-9A-Fa-f:.]+$/;
/** A `Host` value already seen valid, which most requests repeat: skip the regular expression. */
let lastValidHost: string | undefined;

/**
 * True when `value` is a valid `Host` field value, `uri-host [ ":" port ]` (RFC 9112 §3.2,
 * RFC 3986 §3.2.2): a reg-name or IPv4 address, or an IPv6 / IPvFuture literal in brackets,
 * then optionally a colon and a port of at most 65535. Userinfo, paths, spaces, control
 * characters, bare IPv6 and empty hosts are not valid.
 */
export function isValidHost(value: string): boolean {
  if (value === lastValidHost) return true;
  let host = value;
  let port: string | undefined;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close === -1) return false;
    host = value.slice(1, close);
    const rest = value.slice(close + 1);
    if (rest !== '') {
      if (rest[0] !== ':') return false;
      port = rest.slice(1);
    }
    if (!(IPV6_CHARS.test(host) && isIPv6(host)) && !IP_FUTURE.test(host)) return false;
  } else {
    const colon = value.indexOf(':');
    if (colon !== -1) {
      host = value.slice(0, colon);
      port = value.slice(colon + 1);
    }
    if (!REG_NAME.test(host)) return false;
  }
  // `port = *DIGIT`; leading zeros are digits too, but the number must be a port.
  if (port !== undefined && port !== '' && !(/^[0-9]{1,16}$/.test(port) && Number(port) <= 65535)) return false;
  lastValidHost = value;
  return true;
}

/**
 * The first reason `req` cannot be served, checked before the client is even looked at:
 * more than one `Host`, a `Host` that is not `uri-host[:port]`, a request target that is not
 * origin-form or an http(s) absolute-form naming the same host, or a declared body larger than
 * `maxBodyBytes` (0: no limit). An accepted absolute-form target is rewritten to its path.
 * Everything Node's parser rejects never gets here.
 */
export function checkRequest(req: IncomingMessage, maxBodyBytes: number): Refusal | undefined {
  const raw = req.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).length === 4 && (raw[i] as string).toLowerCase() === 'host') hosts++;
  if (hosts > 1) return badRequest('bad_request.duplicate_host');
  const host = req.headers.host;
  // HTTP/1.0 may come without Host (Node refuses a missing Host in HTTP/1.1).
  if (host !== undefined && !isValidHost(host)) return badRequest('bad_request.host');
  const target = checkTarget(req, host);
  if (target) return target;
  if (maxBodyBytes > 0) {
    const length = req.headers['content-length'];
    // Node has already refused a Content-Length that is not one decimal number.
    if (length !== undefined && Number(length) > maxBodyBytes) return { status: 413, reason: 'request.too_large', code: 'PAL_BODY_TOO_LARGE' };
  }
  return undefined;
}

function checkTarget(req: IncomingMessage, host: string | undefined): Refusal | undefined {
  const url = req.url ?? '';
  if (url.startsWith('/')) return undefined;
  if (!/^https?:\/\//i.test(url)) return badRequest('bad_request.target');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return badRequest('bad_request.target');
  }
  if (parsed.username !== '' || parsed.password !== '') return badRequest('bad_request.target');
  // WHATWG URL drops a default port (`:80` for http): compare both sides without it.
  const defaultPort = parsed.protocol === 'https:' ? ':443' : ':80';
  const stated = (host ?? '').toLowerCase();
  if (parsed.host.toLowerCase() !== (stated.endsWith(defaultPort) ? stated.slice(0, -defaultPort.length) : stated))
    return badRequest('bad_request.host_mismatch');
  req.url = `${parsed.pathname}${parsed.search}`;
  return undefined;
}

function badRequest(reason: string): Refusal {
  return { status: 400, reason, code: 'PAL_BAD_REQUEST' };
}
