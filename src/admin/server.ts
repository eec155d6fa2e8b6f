import { pageCsp } from './page-csp.js';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { timingSafeEqual } from 'node:crypto';
import { coded, errorCodes, type ErrorCode } from '../errors.js';
import { describeError } from '../log.js';
import type { AdminIdentity, AdminRequest, AdminResponse, AdminRoute } from '../plugin/types.js';
import type { StoreHealth } from '../store/types.js';
import { AdminAuth } from './auth.js';
import { roleAllows, type AdminRole } from '../settings/credentials.js';

/** Largest admin request body accepted. */
export const MAX_ADMIN_BODY_BYTES = 1024 * 1024;

export interface AdminDependencies {
  log: Logger;
  /** The Prometheus text of this node: every process's metrics, summed when it has workers. */
  scrape(): Promise<string>;
  nodeName: string;
  storeHealth(): StoreHealth;
  /** Whether the node holds its bans (see `NodeStore.readiness`). */
  storeReadiness(): { ready: true } | { ready: false; reason: string };
  /** True once SIGTERM started draining: `/readyz` answers 503 so balancers move away. */
  isDraining(): boolean;
  /** False until the node's boot finished (every listener and worker up): `/livez` says `starting` until then. */
  isStarted?(): boolean;
  /** Plugin routes by plugin id, mounted under `/plugins/<id>/`. */
  pluginRoutes: ReadonlyMap<string, AdminRoute[]>;
  /** Core routes (ban API, …) mounted at their absolute path; token-protected unless `public`. */
  coreRoutes?: AdminRoute[];
  /** Shared with routes that sign browsers in (the review page). */
  auth: AdminAuth;
  /** Records a request refused for its caller's role in the audit trail. */
  recordRefusal?(refusal: { actor: string; method: string; path: string; role: AdminRole | null; target?: string }): void;
}

/** Methods that change state: the ones a cross-site page must not be able to send. */
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

class BodyTooLarge extends Error {}

/**
 * The admin listener: `/livez` and `/readyz` (open), `/metrics` and every other route behind
 * an identity when credentials are set (see {@link AdminAuth}), each within its role:
 * reading needs `viewer`, changing needs `operator` (a route may say otherwise). It is a separate listener: nothing here is reachable
 * through the proxy port. Errors are JSON `{ error, code }`, never a stack trace.
 */
export class AdminServer {
  readonly server: http.Server;
  readonly auth: AdminAuth;
  /** The core routes, `/metrics` (for viewers and up) among them. */
  private readonly coreRoutes: AdminRoute[];

  constructor(private readonly deps: AdminDependencies) {
    this.auth = deps.auth;
    this.coreRoutes = [
      { method: 'GET', path: '/metrics', handle: async () => ({ text: await deps.scrape(), headers: { 'content-type': Registry.PROMETHEUS_CONTENT_TYPE } }) },
      ...(deps.coreRoutes ?? []),
    ];
    this.server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        deps.log.error({ err: describeError(error), path: req.url }, 'admin route failed');
        if (!res.headersSent) sendError(res, 'PAL_INTERNAL', 'internal error');
        else res.destroy();
      });
    });
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const method = req.method ?? 'GET';
    // Never inside another site's frame: the page's one-click forms carry valid CSRF values.
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('content-security-policy', "frame-ancestors 'none'");
    res.setHeader('x-content-type-options', 'nosniff');
    if (method === 'GET' && url.pathname === '/livez') return sendJson(res, 200, { status: this.deps.isStarted?.() === false ? 'starting' : 'ok' });
    if (method === 'GET' && url.pathname === '/readyz') return this.readiness(res);
    if (!this.auth.enabled && !this.isOwnHost(req.headers.host)) {
      // An open (token-less, loopback) admin reached under another name: DNS rebinding.
      return sendError(
        res,
        'PAL_ADMIN_CSRF',
        `Host ${JSON.stringify((req.headers.host ?? '').slice(0, 100))} is not this admin listener; without ADMIN_TOKEN it answers only to its loopback address`,
      );
    }
    const identity = await this.auth.identify(req);
    const authorized = identity !== undefined && identity.role !== null;
    const route = this.findRoute(method, url.pathname);
    // Public routes (the review page and its sign-in) decide for themselves what to show.
    if (identity === undefined && !route?.route.public) {
      return sendError(res, 'PAL_ADMIN_UNAUTHORIZED', 'missing or wrong bearer token', { 'www-authenticate': 'Bearer' });
    }
    // A forged request is refused before anything is said about its caller's role.
    if (UNSAFE_METHODS.has(method)) {
      const forged = forgeryRefusal(req, identity, route?.route);
      if (forged) {
        this.deps.log.warn(coded('PAL_ADMIN_CSRF', { method, path: url.pathname, origin: req.headers.origin }), forged);
        return sendError(res, 'PAL_ADMIN_CSRF', forged);
      }
      const accepts = route?.route.accepts;
      const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (accepts && !accepts.includes(mediaType)) {
        return sendError(
          res,
          'PAL_UNSUPPORTED_MEDIA_TYPE',
          `the body must be ${accepts.join(' or ')} (got ${mediaType === '' ? 'no Content-Type' : JSON.stringify(mediaType.slice(0, 64))})`,
        );
      }
    }
    // A known caller may still not be allowed this: viewers read, operators also change.
    const needed: AdminRole = route?.route.role ?? (UNSAFE_METHODS.has(method) ? 'operator' : 'viewer');
    if (
      route !== undefined &&
      identity !== undefined &&
      (!route.route.public || route.route.role !== undefined) &&
      (identity.role === null || !roleAllows(identity.role, needed))
    ) {
      const why =
        identity.role === null
          ? `${identity.name} has no role on this admin listener (ADMIN_AUTH_PROXY_ROLES grants it none)`
          : `${identity.name} is a ${identity.role}: ${method} ${url.pathname.slice(0, 200)} needs the ${needed} role (viewers read; operators also ban, lift, import and reload)`;
      this.deps.log.warn(
        coded('PAL_ADMIN_FORBIDDEN', { actor: identity.name, role: identity.role, method, path: url.pathname.slice(0, 200) }),
        'admin request refused for its role',
      );
      // Refusals of existing routes only, bounded: the trail is for decisions, not for noise.
      this.deps.recordRefusal?.({
        actor: identity.name,
        method,
        path: url.pathname.slice(0, 200),
        role: identity.role,
        ...(route.param !== undefined ? { target: route.param.slice(0, 200) } : {}),
      });
      return sendError(res, 'PAL_ADMIN_FORBIDDEN', why);
    }
    if (!route) return sendError(res, 'PAL_ADMIN_NOT_FOUND', `no route for ${method} ${url.pathname}`);
    const request: AdminRequest = {
      method,
      path: route.relativePath,
      ...(route.param !== undefined ? { param: route.param } : {}),
      actor: identity?.name ?? 'anonymous',
      authorized,
      identity,
      query: url.searchParams,
      headers: req.headers,
      body: () => readBody(req, MAX_ADMIN_BODY_BYTES),
    };
    let answer: AdminResponse;
    try {
      answer = await route.route.handle(request);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        res.setHeader('connection', 'close');
        return sendError(res, 'PAL_BODY_TOO_LARGE', `body larger than ${MAX_ADMIN_BODY_BYTES} bytes`);
      }
      throw error;
    }
    writeAnswer(res, answer);
  }

  /**
   * 200 `ready` while the node serves with its bans — degraded included: a node on local
   * state still serves, so a Redis outage never takes every replica out at once. 503
   * `draining` during shutdown, 503 `starting` (with the reason) until it holds its bans.
   */
  /** True when `host` names this listener by a loopback name or its own address, with its port. */
  private isOwnHost(host: string | undefined): boolean {
    const address = this.server.address() as AddressInfo | null;
    if (!host || !address) return false;
    const own = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const names = ['localhost', '127.0.0.1', '[::1]', own];
    return names.some((name) => host.toLowerCase() === `${name}:${address.port}`);
  }

  private readiness(res: ServerResponse): void {
    const store = this.deps.storeHealth();
    const bans = this.deps.storeReadiness();
    const status = this.deps.isDraining() ? 'draining' : bans.ready ? 'ready' : 'starting';
    sendJson(res, status === 'ready' ? 200 : 503, {
      status,
      store: store.mode,
      ...(store.detail ? { detail: store.detail } : {}),
      ...(bans.ready ? {} : { reason: bans.reason }),
      node: this.deps.nodeName,
    });
  }

  private findRoute(method: string, pathname: string): { route: AdminRoute; relativePath: string; param?: string } | undefined {
    for (const route of this.coreRoutes) {
      if (route.method !== method) continue;
      if (route.path === pathname) return { route, relativePath: pathname };
      // `/prefix/*` takes one more path segment (URL-encoded: a CIDR's slash is %2F).
      if (route.path.endsWith('/*')) {
        const prefix = route.path.slice(0, -1);
        const rest = pathname.startsWith(prefix) ? pathname.slice(prefix.length) : '';
        if (rest !== '' && !rest.includes('/')) {
          try {
            return { route, relativePath: pathname, param: decodeURIComponent(rest) };
          } catch {
            return undefined;
          }
        }
      }
    }
    const match = /^\/plugins\/([a-z0-9-]+)(\/.*)?$/.exec(pathname);
    if (!match) return undefined;
    const relativePath = match[2] ?? '/';
    const route = this.deps.pluginRoutes.get(match[1] as string)?.find((r) => r.method === method && r.path === relativePath);
    return route ? { route, relativePath } : undefined;
  }
}

/**
 * Why a state-changing request must be refused as a possible cross-site forgery, if it must.
 * The bearer header cannot be sent by another site's page: it passes. A browser's request
 * (signed in by cookie, or to an open loopback admin) must come from this listener's own
 * origin — `Origin` and `Sec-Fetch-Site` say so; another port of the same host is another
 * origin — and, with a session, carry the session's CSRF value: in `X-CSRF-Token` for the
 * API, in the form for the page's own form actions (checked there).
 */
function forgeryRefusal(req: IncomingMessage, identity: AdminIdentity | undefined, route: AdminRoute | undefined): string | undefined {
  if (identity === undefined || identity.via === 'bearer') return undefined;
  const origin = req.headers.origin;
  const host = req.headers.host ?? '';
  if (origin !== undefined && origin !== `http://${host}` && origin !== `https://${host}`)
    return `cross-origin request refused (Origin ${JSON.stringify(origin.slice(0, 100))} is not this admin listener)`;
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return `cross-origin request refused (Sec-Fetch-Site: ${site})`;
  if ((identity.via === 'session' || identity.via === 'proxy') && !route?.form) {
    const proof = req.headers['x-csrf-token'];
    if (typeof proof !== 'string' || !safeEqual(proof, identity.csrf))
      return "a request signed in by cookie or through the auth proxy must carry the page's CSRF value in X-CSRF-Token (scripts: use Authorization: Bearer)";
  }
  return undefined;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function writeAnswer(res: ServerResponse, answer: AdminResponse): void {
  const status = answer.status ?? 200;
  const headers = { 'cache-control': 'no-store', ...answer.headers };
  if (answer.html !== undefined) {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': pageCsp(answer.html), ...headers });
    res.end(answer.html);
  } else if (answer.text !== undefined) {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end(answer.text);
  } else if (answer.json !== undefined) {
    sendJson(res, status, answer.json, headers);
  } else {
    res.writeHead(status, headers);
    res.end();
  }
}

/** Writes a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(payload)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(payload);
}

/** Writes `{ error, code }` with the status registered for `code`. */
export function sendError(res: ServerResponse, code: ErrorCode, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, errorCodes[code].status || 500, { error: message, code }, headers);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
