import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AdminIdentity } from '../plugin/types.js';
import type { SessionFacet } from '../store/sessions.js';

export type { AdminIdentity };

/** Name of the cookie the review page's sign-in sets. */
export const ADMIN_COOKIE = 'palisade_admin';
/** How long a page sign-in lasts, however active. */
const SESSION_LIFETIME_MS = 12 * 3_600_000;
/** A page sign-in unused this long is gone. */
const SESSION_IDLE_MS = 2 * 3_600_000;
/** Admin session ids share the session store with visitors' sessions; the prefix keeps them apart. */
const SESSION_PREFIX = 'adm_';

/** Sessions signed out on this node, remembered so a local copy is never taken for a live one. */
const REVOKED_KEPT = 10_000;

/**
 * The store key of a session: a hash of the cookie's id, so whoever reads Redis (or its
 * backups) cannot sign in with what they read.
 */
function storeKey(sessionId: string): string {
  return `${SESSION_PREFIX}${createHash('sha256').update(sessionId).digest('base64url')}`;
}

function fingerprintOf(token: string): string {
  return token === '' ? '' : createHmac('sha256', token).update('palisade-admin-session').digest('base64url');
}

/** True when `bearer` (an `Authorization` header) carries `token`; never true for an empty token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const bearer = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return token !== '' && bearer !== null && equal((bearer[1] as string).trim(), token);
}

function equal(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

/** What an admin session keeps in the store. */
interface AdminSessionData {
  admin: true;
  /** A fingerprint of the token the session was opened with: rotating the token ends it. */
  token: string;
  csrf: string;
}

/**
 * Admin authentication: `Authorization: Bearer <ADMIN_TOKEN>` for scripts and the CLI, or,
 * for the review page in a browser, a server-side session — a random id in an `HttpOnly;
 * SameSite=Strict` cookie, the session in the shared store (Redis when shared) with an idle
 * and an absolute lifetime and its own CSRF value. Signing out deletes it, on every node at
 * once; a node whose token changed refuses sessions opened with the old one.
 */
export class AdminAuth {
  private fingerprint: string;
  /** Without a token there are no sessions; the page's forms still carry a value. */
  private readonly openCsrf = randomBytes(24).toString('base64url');
  private readonly revoked = new Set<string>();

  constructor(
    private token: string,
    private readonly sessions: SessionFacet,
    private readonly now: () => number = Date.now,
  ) {
    this.fingerprint = fingerprintOf(token);
  }

  /** A new token (a reload after rotation): the old one and every session opened with it stop working. */
  rotate(token: string): void {
    this.token = token;
    this.fingerprint = fingerprintOf(token);
  }

  get enabled(): boolean {
    return this.token !== '';
  }

  /** The caller's identity, or undefined when it proved nothing. */
  async identify(req: IncomingMessage): Promise<AdminIdentity | undefined> {
    if (!this.enabled) return { via: 'open', csrf: this.openCsrf };
    if (bearerMatches(req.headers.authorization, this.token)) return { via: 'bearer' };
    const sessionId = /(?:^|;\s*)palisade_admin=([A-Za-z0-9_-]{16,128})(?:;|$)/.exec(req.headers.cookie ?? '')?.[1];
    if (sessionId === undefined || !sessionId.startsWith(SESSION_PREFIX) || this.revoked.has(sessionId)) return undefined;
    const record = await this.sessions.get(storeKey(sessionId), SESSION_IDLE_MS);
    const data = record?.data as Partial<AdminSessionData> | undefined;
    if (data?.admin !== true || typeof data.token !== 'string' || typeof data.csrf !== 'string' || !equal(data.token, this.fingerprint)) return undefined;
    return { via: 'session', sessionId, csrf: data.csrf };
  }

  /** True when `given` is the admin token (the page's sign-in form). */
  checkToken(given: string): boolean {
    return this.enabled && equal(given, this.token);
  }

  /** Opens a session; returns the `Set-Cookie` value that carries it. */
  async signIn(): Promise<string> {
    const id = `${SESSION_PREFIX}${randomBytes(32).toString('base64url')}`;
    const now = this.now();
    const data: AdminSessionData = { admin: true, token: this.fingerprint, csrf: randomBytes(24).toString('base64url') };
    await this.sessions.set(storeKey(id), { data: data as unknown as Record<string, unknown>, createdAt: now, absoluteExpiresAt: now + SESSION_LIFETIME_MS }, SESSION_IDLE_MS);
    return `${ADMIN_COOKIE}=${id}; Path=/; Max-Age=${SESSION_LIFETIME_MS / 1000}; HttpOnly; SameSite=Strict`;
  }

  /** Ends the caller's session (on every node sharing the store); returns the `Set-Cookie` that clears it. */
  async signOut(identity: AdminIdentity): Promise<string> {
    if (identity.via === 'session') {
      this.revoked.add(identity.sessionId);
      if (this.revoked.size > REVOKED_KEPT) this.revoked.delete(this.revoked.values().next().value as string);
      await this.sessions.destroy(storeKey(identity.sessionId));
    }
    return `${ADMIN_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict`;
  }
}
