/**
 * What an `onRequest`/`preProxy` hook returns to stop a request. The host renders it, logs
 * the reason, counts it in metrics and still runs every `onResponse` hook.
 */
export type Verdict =
  | { kind: 'deny'; status: number | undefined; reason: string }
  | { kind: 'respond'; status: number; reason: string; headers: Record<string, string>; body: string | Buffer }
  | { kind: 'redirect'; status: 301 | 302 | 303 | 307 | 308; reason: string; location: string }
  | { kind: 'challenge'; status: number; reason: string; headers: Record<string, string>; body: string };

/** The verdict label used in metrics and access logs; `pass` when no verdict was given. */
export type VerdictKind = Verdict['kind'] | 'ban' | 'pass' | 'error';

/**
 * Refuses the request. With no status, `DENY_HTTP_STATUS` applies (444 closes the
 * connection). `reason` is a short, stable label such as `blacklist.ip`: it becomes a metric
 * label, so never put an IP, a path or other unbounded text in it.
 */
export function deny(reason: string): Verdict;
export function deny(status: number, reason: string): Verdict;
export function deny(a: number | string, b?: string): Verdict {
  return typeof a === 'number' ? { kind: 'deny', status: a, reason: b ?? 'denied' } : { kind: 'deny', status: undefined, reason: a };
}

/** Answers the request from the proxy itself (e.g. a 429 with `Retry-After`). */
export function respond(status: number, reason: string, body: string | Buffer = '', headers: Record<string, string> = {}): Verdict {
  return { kind: 'respond', status, reason, body, headers };
}

/** Redirects the client (e.g. to a challenge page). */
export function redirect(location: string, reason: string, status: 301 | 302 | 303 | 307 | 308 = 302): Verdict {
  return { kind: 'redirect', status, reason, location };
}

/** Serves a challenge page (antibot); counted apart from denials. */
export function challenge(body: string, reason: string, status = 403, headers: Record<string, string> = {}): Verdict {
  return { kind: 'challenge', status, reason, body, headers };
}
