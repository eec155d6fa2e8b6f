import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '../errors.js';
import { foldHeaderCase } from './headers.js';

/** The status and headers of an upstream answer, before they are written to the client. */
export interface UpstreamResponseHead {
  statusCode: number;
  /** Lower-case names; a repeated header is an array. Listeners may change it. */
  headers: Record<string, string | string[] | undefined>;
}

/** Sees (and may edit) every upstream answer's head before it is written. */
export type UpstreamResponseListener = (head: UpstreamResponseHead, req: IncomingMessage, res: ServerResponse) => void;

/** Why forwarding failed: the upstream (502 or 504), or a request body past `MAX_CLIENT_SIZE` (413). */
export type ForwardFailure = 'upstream.unreachable' | 'upstream.timeout' | 'request.too_large';

/** Reports a failed forward; runs at most once per request. */
export type OnForwardFailure = (failure: ForwardFailure, error: Error) => void;

/** Error codes (undici's and our own) meaning "the upstream was too slow". */
export const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'PAL_UPSTREAM_TIMEOUT']);

/** 504 for a slow upstream, 502 for everything else (refused, reset, TLS, bad answer). */
export function classifyUpstreamError(error: Error): ForwardFailure {
  return TIMEOUT_CODES.has((error as NodeJS.ErrnoException).code ?? '') ? 'upstream.timeout' : 'upstream.unreachable';
}

/** The upstream URL's path as a prefix for request paths: `''` for `/`, no trailing slash. */
export function upstreamBasePath(target: URL): string {
  return target.pathname === '/' ? '' : target.pathname.replace(/\/$/, '');
}

/** An error for our own upstream timers, classified as a timeout. */
export function upstreamTimeout(timeoutMs: number): Error {
  return Object.assign(new Error(`upstream did not answer within ${timeoutMs}ms`), { code: 'PAL_UPSTREAM_TIMEOUT' satisfies ErrorCode });
}

/**
 * Runs the listeners on an answer's head, then writes it with `writeHead` (Node's one-pass
 * header path). Header names a listener set in another case are folded into the
 * lower-case one (the listener's value wins, as `setHeader` would have it), so no header
 * goes out twice. Returns false when the head could not be written (the client is gone, or
 * a listener set a value Node refuses): the caller stops reading the answer.
 */
export function writeAnswerHead(
  head: UpstreamResponseHead,
  statusMessage: string | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  listeners: readonly UpstreamResponseListener[],
): boolean {
  for (const listener of listeners) listener(head, req, res);
  if (res.headersSent || res.destroyed) return false;
  const headers = foldHeaderCase(head.headers);
  // The body is written again by Node for this client: chunked, or by closing for HTTP/1.0.
  if (req.httpVersion === '1.0') delete headers['transfer-encoding'];
  headers.connection ??= req.httpVersion === '1.0' ? 'close' : 'keep-alive';
  try {
    res.writeHead(head.statusCode, statusMessage, headers);
    return true;
  } catch {
    return false;
  }
}
