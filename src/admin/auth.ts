import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { CidrSet, canonicalIp } from '../net/ip.js';
import type { AdminIdentity } from '../plugin/types.js';
import { parseRoleGrants, roleOf, type AdminCredential, type RoleGrant } from '../settings/credentials.js';
import type { SessionFacet } from '../store/types.js';

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

/** The token of an `Authorization: Bearer …` header, if it carries one. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1]?.trim();
}

/** The credential whose token `token` is: every one compared in constant time, so the timing says nothing of which. */
export function credentialFor(credentials: readonly AdminCredential[], token: string): AdminCredential | undefined {
  let found: AdminCredential | undefined;
  for (const credential of credentials) if (equal(token, credential.token) && found === undefined) found = credential;
  return found;
}

function equal(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

/** What an admin session keeps in the store. */
interface AdminSessionData {
  admin: true;
  /** The credential the session was opened with: its name, and a fingerprint of its token (a changed token ends it). */
  name: string;
  token: string;
  csrf: string;
}

/** Who may sign in and how: the node's credentials and its trusted auth proxy. */
export interface AdminAuthConfig {
  credentials: readonly AdminCredential[];
  /** `ADMIN_AUTH_PROXY_FROM` (empty: no auth proxy) and `ADMIN_AUTH_PROXY_ROLES`. */
  proxyFrom: readonly string[];
  proxyRoles: readonly string[];
  /** The headers naming the proxy's user and its groups ('' for no groups). */
  proxyUserHeader: string;
  proxyGroupsHeader: string;
  /** A secret the nodes share, for the CSRF values of proxy users (a form drawn by one node may post to another); random when empty. */
  csrfSecret: string;
}

/** One header's value when printable and at most `max` characters, or undefined. */
function headerValue(req: IncomingMessage, name: string, max: number): string | undefined {
  const value = req.headers[name];
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  return text && text.length <= max && /^[\x20-\x7e]+$/.test(text) ? text : undefined;
}

/**
 * Admin authentication and identities. A caller proves who it is by a named credential
 * (`ADMIN_TOKENS`, `ADMIN_TOKEN` as the operator `admin`) in `Authorization: Bearer`, by the
 * review page's server-side session opened with one (a random id in an `HttpOnly;
 * SameSite=Strict` cookie, the session in the shared store with an idle and an absolute
 * lifetime and its own CSRF value; signing out deletes it on every node at once, and a
 * changed or removed credential ends its sessions), or — from `ADMIN_AUTH_PROXY_FROM`
 * only — by the identity headers of an authenticating proxy, with the role
 * `ADMIN_AUTH_PROXY_ROLES` gives it. The identity's name is the actor in the audit trail.
 */
export class AdminAuth {
  private credentials: readonly (AdminCredential & { fingerprint: string })[] = [];
  private proxyFrom = CidrSet.from([]);
  private grants: readonly RoleGrant[] = [];
  private proxyHeaders = { user: 'x-forwarded-email', groups: 'x-forwarded-groups' };
  /** Without a credential there are no sessions; the page's forms still carry a value. */
  private readonly openCsrf = randomBytes(24).toString('base64url');
  /** Derives the CSRF value of an auth-proxy user. */
  private proxyCsrfKey: Buffer | string = randomBytes(32);
  private readonly revoked = new Set<string>();

  constructor(
    config: AdminAuthConfig,
    private readonly sessions: SessionFacet,
    private readonly now: () => number = Date.now,
  ) {
    this.rotate(config);
  }

  /** New credentials or proxy settings (a reload): removed or changed ones, and their sessions, stop working at once. */
  rotate(config: AdminAuthConfig): void {
    this.credentials = config.credentials.map((credential) => ({ ...credential, fingerprint: fingerprintOf(credential.token) }));
    this.proxyFrom = CidrSet.from(config.proxyFrom);
    this.grants = parseRoleGrants(config.proxyRoles);
    this.proxyHeaders = { user: config.proxyUserHeader.toLowerCase(), groups: config.proxyGroupsHeader.toLowerCase() };
    if (config.csrfSecret !== '') this.proxyCsrfKey = `palisade-admin-proxy-csrf:${config.csrfSecret}`;
  }

  /** False when nothing is configured: the (loopback-only) admin is open. */
  get enabled(): boolean {
    return this.credentials.length > 0 || this.proxyFrom.size > 0;
  }

  /** The caller's identity, or undefined when it proved nothing. */
  async identify(req: IncomingMessage): Promise<AdminIdentity | undefined> {
    if (!this.enabled) return { via: 'open', csrf: this.openCsrf, name: 'local', role: 'operator' };
    const proxied = this.fromProxy(req);
    const bearer = bearerToken(req.headers.authorization);
    if (bearer !== undefined) {
      const credential = credentialFor(this.credentials, bearer);
      if (credential) return { via: 'bearer', name: credential.name, role: credential.role };
      // A proxy may pass its user's own token along: the proxy's word decides then.
      return proxied;
    }
    if (proxied) return proxied;
    const sessionId = /(?:^|;\s*)palisade_admin=([A-Za-z0-9_-]{16,128})(?:;|$)/.exec(req.headers.cookie ?? '')?.[1];
    if (sessionId === undefined || !sessionId.startsWith(SESSION_PREFIX) || this.revoked.has(sessionId)) return undefined;
    const record = await this.sessions.get(storeKey(sessionId), SESSION_IDLE_MS);
    const data = record?.data as Partial<AdminSessionData> | undefined;
    if (data?.admin !== true || typeof data.token !== 'string' || typeof data.csrf !== 'string' || typeof data.name !== 'string') return undefined;
    const credential = this.credentials.find((c) => c.name === data.name);
    if (!credential || !equal(data.token, credential.fingerprint)) return undefined;
    return { via: 'session', sessionId, csrf: data.csrf, name: credential.name, role: credential.role };
  }

  /** The credential whose token `given` is (the page's sign-in form), if any. */
  checkToken(given: string): AdminCredential | undefined {
    return this.enabled ? credentialFor(this.credentials, given) : undefined;
  }

  /** Opens a session for `credential`; returns the `Set-Cookie` value that carries it. */
  async signIn(credential: AdminCredential): Promise<string> {
    const id = `${SESSION_PREFIX}${randomBytes(32).toString('base64url')}`;
    const now = this.now();
    const data: AdminSessionData = { admin: true, name: credential.name, token: fingerprintOf(credential.token), csrf: randomBytes(24).toString('base64url') };
    await this.sessions.set(
      storeKey(id),
      { data: data as unknown as Record<string, unknown>, createdAt: now, absoluteExpiresAt: now + SESSION_LIFETIME_MS },
      SESSION_IDLE_MS,
    );
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

  /** The auth proxy's user, when the request comes from it and names one. */
  private fromProxy(req: IncomingMessage): AdminIdentity | undefined {
    if (this.proxyFrom.size === 0) return undefined;
    const peer = canonicalIp(req.socket.remoteAddress ?? '');
    if (peer === undefined || !this.proxyFrom.has(peer)) return undefined;
    // One header names the user, one lists its groups: the proxy sets both on every request.
    const name = headerValue(req, this.proxyHeaders.user, 256);
    if (name === undefined) return undefined;
    const listed = this.proxyHeaders.groups === '' ? undefined : headerValue(req, this.proxyHeaders.groups, 8_192);
    const groups = (listed ?? '')
      .split(',')
      .map((group) => group.trim())
      .filter((group) => group !== '' && group.length <= 256);
    const role = roleOf(this.grants, [name], groups) ?? null;
    return { via: 'proxy', name, role, csrf: createHmac('sha256', this.proxyCsrfKey).update(name).digest('base64url') };
  }
}
