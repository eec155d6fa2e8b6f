import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Name of the cookie the review page's login sets. */
export const ADMIN_COOKIE = 'palisade_admin';
/** How long a page login lasts. */
const COOKIE_MAX_AGE_S = 12 * 3600;

function equal(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

/**
 * Admin authentication: `Authorization: Bearer <ADMIN_TOKEN>` for scripts and the CLI, or,
 * for the review page in a browser, a cookie holding an HMAC derived from the token (never
 * the token itself), `HttpOnly; SameSite=Strict`. Forms also carry a CSRF value derived the
 * same way. Without a token (loopback-only admin, enforced at boot) everything is allowed.
 */
export class AdminAuth {
  private readonly cookieValue: string;
  readonly csrf: string;

  constructor(private readonly token: string) {
    const key = token === '' ? randomBytes(32) : token;
    this.cookieValue = createHmac('sha256', key).update('palisade-admin-session').digest('base64url');
    this.csrf = createHmac('sha256', key).update('palisade-admin-csrf').digest('base64url');
  }

  get enabled(): boolean {
    return this.token !== '';
  }

  /** True for a request with the bearer token or the page's login cookie. */
  authorized(req: IncomingMessage): boolean {
    if (!this.enabled) return true;
    const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (match && equal((match[1] as string).trim(), this.token)) return true;
    const cookie = /(?:^|;\s*)palisade_admin=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    return cookie !== undefined && equal(cookie, this.cookieValue);
  }

  /** True when `given` is the admin token (the page's login form). */
  checkToken(given: string): boolean {
    return this.enabled && equal(given, this.token);
  }

  /** The `Set-Cookie` value that logs a browser in (or out, with `clear`). */
  cookie(clear = false): string {
    return `${ADMIN_COOKIE}=${clear ? '' : this.cookieValue}; Path=/; Max-Age=${clear ? 0 : COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Strict`;
  }
}
