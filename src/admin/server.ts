import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { errorCodes, type ErrorCode } from '../errors.js';
import { describeError } from '../log.js';
import type { AdminRequest, AdminResponse, AdminRoute } from '../plugin/types.js';
import type { StoreHealth } from '../store/types.js';
import { AdminAuth } from './auth.js';

/** Largest admin request body accepted. */
export const MAX_ADMIN_BODY_BYTES = 1024 * 1024;

export interface AdminDependencies {
  token: string;
  log: Logger;
  metrics: Registry;
  nodeName: string;
  storeHealth(): StoreHealth;
  /** True once SIGTERM started draining: `/readyz` answers 503 so balancers move away. */
  isDraining(): boolean;
  /** Plugin routes by plugin id, mounted under `/plugins/<id>/`. */
  pluginRoutes: ReadonlyMap<string, AdminRoute[]>;
  /** Core routes (ban API, …) mounted at their absolute path; token-protected unless `public`. */
  coreRoutes?: AdminRoute[];
  /** Shared with routes that log browsers in (the review page). */
  auth?: AdminAuth;
}

class BodyTooLarge extends Error {}

/**
 * The admin listener: `/livez` and `/readyz` (open), `/metrics` and every other route behind
 * the bearer token when one is set. It is a separate listener: nothing here is reachable
 * through the proxy port. Errors are JSON `{ error, code }`, never a stack trace.
 */
export class AdminServer {
  readonly server: http.Server;
  readonly auth: AdminAuth;

  constructor(private readonly deps: AdminDependencies) {
    this.auth = deps.auth ?? new AdminAuth(deps.token);
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
    if (method === 'GET' && url.pathname === '/livez') return sendJson(res, 200, { status: 'ok' });
    if (method === 'GET' && url.pathname === '/readyz') return this.readiness(res);
    const authorized = this.auth.authorized(req);
    const route = this.findRoute(method, url.pathname);
    // Public routes (the review page and its login) decide for themselves what to show.
    if (!authorized && !route?.route.public) {
      return sendError(res, 'PAL_ADMIN_UNAUTHORIZED', 'missing or wrong bearer token', { 'www-authenticate': 'Bearer' });
    }
    if (method === 'GET' && url.pathname === '/metrics') {
      const body = await this.deps.metrics.metrics();
      res.writeHead(200, { 'content-type': this.deps.metrics.contentType, 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    if (!route) return sendError(res, 'PAL_ADMIN_NOT_FOUND', `no route for ${method} ${url.pathname}`);
    const request: AdminRequest = {
      method,
      path: route.relativePath,
      ...(route.param !== undefined ? { param: route.param } : {}),
      actor: actorOf(req),
      authorized,
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

  private readiness(res: ServerResponse): void {
    const store = this.deps.storeHealth();
    const draining = this.deps.isDraining();
    sendJson(res, draining ? 503 : 200, {
      status: draining ? 'draining' : 'ready',
      store: store.mode,
      ...(store.detail ? { detail: store.detail } : {}),
      node: this.deps.nodeName,
    });
  }

  private findRoute(method: string, pathname: string): { route: AdminRoute; relativePath: string; param?: string } | undefined {
    for (const route of this.deps.coreRoutes ?? []) {
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

/** The actor named by `X-Actor` (printable, at most 64 characters), or `admin`. */
function actorOf(req: IncomingMessage): string {
  const header = req.headers['x-actor'];
  const value = typeof header === 'string' ? header.trim() : '';
  return /^[\x20-\x7e]{1,64}$/.test(value) ? value : 'admin';
}

function writeAnswer(res: ServerResponse, answer: AdminResponse): void {
  const status = answer.status ?? 200;
  const headers = { 'cache-control': 'no-store', ...answer.headers };
  if (answer.html !== undefined) {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
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
