import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { accessWriter, type AccessWriter } from '../access-log.js';
import { describeError } from '../log.js';
import type { CoreMetrics } from '../metrics.js';
import { HookFailure, type HookVerdict, type PluginHost } from '../plugin/host.js';
import type { MaybePromise, RequestContext } from '../plugin/types.js';
import type { CoreSettings } from '../settings/types.generated.js';
import type { ClusterStore } from '../store/types.js';
import { createClientIpResolver, type ClientIpResolver, type ResolvedClient } from './client-ip.js';
import type { Forwarder, UpstreamFailure, UpstreamResponseHead } from './forward.js';
import { prepareUpstreamHeaders, stripResponseHopByHop, upstreamHeaderList } from './headers.js';
import { sendPlain, sendRaw } from './render.js';

export interface ProxyDependencies {
  settings: CoreSettings;
  host: PluginHost;
  store: ClusterStore;
  metrics: CoreMetrics;
  /** Logger for access lines and proxy errors. */
  log: Logger;
  forwarder: Forwarder;
}

/** Per-request bookkeeping kept off the public context. */
interface Pending {
  ctx: RequestContext;
  resolved: ResolvedClient;
  verdict: string;
  reason: string | undefined;
  status: number | undefined;
  clientWantsClose: boolean;
}

const PENDING = Symbol('palisade.pending');
type TrackedResponse = ServerResponse & { [PENDING]?: Pending };

/** The client as resolved for a socket's first request, reused while the header is absent. */
const PEER = Symbol('palisade.peer');
type TrackedSocket = IncomingMessage['socket'] & { [PEER]?: ResolvedClient };

function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}

/**
 * The proxy listener: parses, resolves the client, runs the ban gate and the plugin phases,
 * forwards, and always finishes with `onResponse`, an access line and metrics.
 */
export class ProxyServer {
  readonly server: http.Server;
  private readonly ip: ClientIpResolver;
  private inFlight = 0;
  private draining = false;
  private drained: (() => void) | undefined;
  private readonly access: AccessWriter;
  /** One listener for every response: no closure per request. */
  private readonly onResponseClose: (this: TrackedResponse) => void;

  constructor(private readonly deps: ProxyDependencies) {
    const s = deps.settings;
    this.access = accessWriter(deps.log);
    const server = this;
    this.onResponseClose = function (this: TrackedResponse) {
      const pending = this[PENDING];
      if (pending) server.finish(this, pending);
    };
    this.ip = createClientIpResolver({
      useRealIp: s.USE_REAL_IP,
      trusted: s.REAL_IP_FROM,
      header: s.REAL_IP_HEADER,
      recursive: s.REAL_IP_RECURSIVE,
    });
    this.server = http.createServer({
      // Node only enforces headersTimeout when it checks connections: check often enough
      // that a slowloris client is cut close to HEADER_TIMEOUT, not 30 s later.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(s.HEADER_TIMEOUT / 4))),
      headersTimeout: s.HEADER_TIMEOUT,
      requestTimeout: s.REQUEST_TIMEOUT,
      keepAliveTimeout: s.KEEPALIVE_TIMEOUT,
      requireHostHeader: true,
    });
    this.server.on('request', (req, res) => this.handle(req, res as TrackedResponse));
    this.server.on('upgrade', (req, socket, head) => this.handleUpgrade(req, socket, head));
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket) => this.handleClientError(error, socket));
    deps.forwarder.onUpstreamResponse((head, _req, res) => this.onUpstreamResponse(head, res as TrackedResponse));
  }

  /** Binds the listener; resolves with the bound address. */
  listen(port: number, address: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, address, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Requests being handled right now. */
  get active(): number {
    return this.inFlight;
  }

  /**
   * Stops accepting, lets in-flight requests finish (answers carry `Connection: close`),
   * and after `timeoutMs` cuts what is left. Resolves true when everything finished in time.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const finished =
      this.inFlight === 0
        ? Promise.resolve(true)
        : new Promise<boolean>((resolve) => {
            this.drained = () => resolve(true);
            setTimeout(() => resolve(false), timeoutMs).unref();
          });
    const inTime = await finished;
    this.server.closeAllConnections();
    await closed;
    return inTime;
  }

  private handle(req: IncomingMessage, res: TrackedResponse): void {
    const id = randomUUID();
    const startedAt = process.hrtime.bigint();
    this.inFlight++;
    // First: it may rewrite an absolute-form target to a path, which the context must see.
    const malformed = this.checkRequestTarget(req);
    const header = req.headers[this.ip.headerName];
    let resolved: ResolvedClient;
    if (header === undefined) {
      // Without the header the answer depends only on the peer, which a keep-alive
      // connection keeps: resolve once per socket (canonicalIp costs µs per call).
      const socket = req.socket as TrackedSocket;
      resolved = socket[PEER] ??= this.ip.resolve(socket.remoteAddress, undefined);
    } else resolved = this.ip.resolve(req.socket.remoteAddress, header);
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const ctx = {
      id,
      clientIp: resolved.ip,
      req,
      method: req.method ?? 'GET',
      path: query === -1 ? url : url.slice(0, query),
      startedAt,
      locals: new Map(),
      exempt: false as boolean,
    } satisfies RequestContext;
    const pending: Pending = {
      ctx,
      resolved,
      verdict: 'pass',
      reason: undefined,
      status: undefined,
      clientWantsClose: req.headers.connection !== undefined && /(?:^|,)\s*close\s*(?:,|$)/i.test(req.headers.connection),
    };
    res[PENDING] = pending;
    res.on('close', this.onResponseClose);
    if (this.draining) res.shouldKeepAlive = false;
    // HTTP/1.0 with a chunked body is a smuggling vector: answer it, then close.
    if (req.httpVersion === '1.0' && req.headers['transfer-encoding'] !== undefined) {
      pending.clientWantsClose = true;
      res.shouldKeepAlive = false;
    }

    if (malformed) {
      this.block(res, pending, 400, 'error', malformed);
      return;
    }

    ctx.exempt = this.deps.host.hasExemptions && this.deps.host.isExempt(ctx);
    if (!ctx.exempt) {
      const ban = this.deps.store.bans.match(ctx.clientIp);
      if (ban) {
        this.block(res, pending, this.deps.settings.DENY_HTTP_STATUS, 'ban', 'ban');
        return;
      }
    }

    const gate = this.deps.host.onRequest(ctx);
    if (isPromise(gate)) {
      gate.then(
        (result) => this.afterGate(res, pending, result, true),
        (error: unknown) => this.internalError(res, pending, error),
      );
    } else this.afterGate(res, pending, gate, true);
  }

  /** Returns a reason when the request line or Host is unusable; fixes absolute-form targets. */
  private checkRequestTarget(req: IncomingMessage): string | undefined {
    let hosts = 0;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).length === 4 && (raw[i] as string).toLowerCase() === 'host') hosts++;
    if (hosts > 1) return 'bad_request.duplicate_host';
    const url = req.url ?? '';
    if (url.startsWith('/')) return undefined;
    if (!/^https?:\/\//i.test(url)) return 'bad_request.target';
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'bad_request.target';
    }
    if (parsed.host.toLowerCase() !== (req.headers.host ?? '').toLowerCase()) return 'bad_request.host_mismatch';
    req.url = `${parsed.pathname}${parsed.search}`;
    return undefined;
  }

  private afterGate(res: TrackedResponse, pending: Pending, result: HookVerdict | HookFailure | undefined, beforeProxy: boolean): void {
    if (res.destroyed) return;
    if (result instanceof HookFailure) {
      this.block(res, pending, 503, 'error', `plugin.${result.plugin}`);
      return;
    }
    if (result) {
      this.render(res, pending, result);
      return;
    }
    if (beforeProxy) {
      const pre = this.deps.host.preProxy(pending.ctx);
      if (isPromise(pre)) {
        pre.then(
          (next) => this.afterGate(res, pending, next, false),
          (error: unknown) => this.internalError(res, pending, error),
        );
      } else this.afterGate(res, pending, pre, false);
      return;
    }
    this.forward(res, pending);
  }

  private forward(res: TrackedResponse, pending: Pending): void {
    const { ctx } = pending;
    const req = ctx.req;
    const length = req.headers['content-length'];
    const facts = { requestId: ctx.id, clientIp: ctx.clientIp, ...this.trustedFacts(req, pending.resolved) };
    const upstream = {
      headers: upstreamHeaderList(req.headers, facts, this.deps.forwarder.host),
      hasBody: req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0'),
    };
    this.deps.forwarder.web(req, res, upstream, (failure, error) => this.upstreamFailed(res, pending, failure, error));
  }

  /** Forwarding facts: what a trusted peer told us, or what we saw ourselves. */
  private trustedFacts(req: IncomingMessage, resolved: ResolvedClient): { chain: string[]; proto: 'http' | 'https'; host: string | undefined } {
    const hops = resolved.trustedHops;
    const chain = resolved.ip === resolved.peer ? [] : hops.length === 0 ? [resolved.peer] : [...hops].reverse().concat(resolved.peer);
    const ownProto = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    if (!resolved.trustedPeer) return { chain, proto: ownProto, host: req.headers.host };
    const claimedProto = String(req.headers['x-forwarded-proto'] ?? '').toLowerCase();
    const claimedHost = req.headers['x-forwarded-host'];
    return {
      chain,
      proto: claimedProto === 'https' || claimedProto === 'http' ? claimedProto : ownProto,
      host: typeof claimedHost === 'string' && claimedHost !== '' ? claimedHost : req.headers.host,
    };
  }

  private onUpstreamResponse(head: UpstreamResponseHead, res: TrackedResponse): void {
    const pending = res[PENDING];
    if (!pending) return;
    const headers = head.headers;
    stripResponseHopByHop(headers);
    // Node ends the connection after this answer when the client did not ask to keep it
    // (HTTP/1.0 without keep-alive) or when a body without a length can only end by closing
    // (HTTP/1.0 has no chunked encoding): say so rather than promise keep-alive.
    const closes =
      pending.clientWantsClose || this.draining || !res.shouldKeepAlive || (pending.ctx.req.httpVersion === '1.0' && headers['content-length'] === undefined);
    headers.connection = closes ? 'close' : 'keep-alive';
    headers['x-request-id'] = pending.ctx.id;
    this.deps.host.onSend(pending.ctx, { statusCode: head.statusCode, headers });
  }

  private upstreamFailed(res: TrackedResponse, pending: Pending, failure: UpstreamFailure, error: Error): void {
    this.deps.log.warn(
      {
        reqId: pending.ctx.id,
        code: failure === 'upstream.timeout' ? 'PAL_UPSTREAM_TIMEOUT' : 'PAL_UPSTREAM_UNREACHABLE',
        err: describeError(error),
      },
      failure === 'upstream.timeout' ? 'upstream timed out' : 'upstream unreachable',
    );
    pending.verdict = 'error';
    pending.reason = failure;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    pending.status = failure === 'upstream.timeout' ? 504 : 502;
    sendPlain(res, pending.status, pending.ctx.id, { connection: 'close' });
  }

  private internalError(res: TrackedResponse, pending: Pending, error: unknown): void {
    this.deps.log.error({ reqId: pending.ctx.id, err: describeError(error) }, 'request pipeline failed');
    if (res.headersSent || res.destroyed) res.destroy();
    else this.block(res, pending, 500, 'error', 'internal');
  }

  private render(res: TrackedResponse, pending: Pending, result: HookVerdict): void {
    const { verdict } = result;
    switch (verdict.kind) {
      case 'deny':
        this.block(res, pending, verdict.status ?? this.deps.settings.DENY_HTTP_STATUS, 'deny', verdict.reason);
        return;
      case 'respond':
        pending.verdict = 'respond';
        pending.reason = verdict.reason;
        pending.status = verdict.status;
        sendPlain(res, verdict.status, pending.ctx.id, verdict.headers, verdict.body);
        return;
      case 'redirect':
        pending.verdict = 'redirect';
        pending.reason = verdict.reason;
        pending.status = verdict.status;
        sendPlain(res, verdict.status, pending.ctx.id, { location: verdict.location });
        return;
      case 'challenge':
        pending.verdict = 'challenge';
        pending.reason = verdict.reason;
        pending.status = verdict.status;
        sendPlain(res, verdict.status, pending.ctx.id, { 'content-type': 'text/html; charset=utf-8', ...verdict.headers }, verdict.body);
        return;
    }
  }

  /** Refuses the request from the proxy; 444 closes the connection without an answer. */
  private block(res: TrackedResponse, pending: Pending, status: number, verdict: string, reason: string): void {
    pending.verdict = verdict;
    pending.reason = reason;
    pending.status = status;
    if (status === 444) {
      res.socket?.destroy();
      return;
    }
    sendPlain(res, status, pending.ctx.id, status === 400 ? { connection: 'close' } : {});
  }

  private finish(res: TrackedResponse, pending: Pending): void {
    this.inFlight--;
    const status = pending.status ?? res.statusCode;
    const aborted = !res.writableFinished;
    const durationMs = Number(process.hrtime.bigint() - pending.ctx.startedAt) / 1e6;
    const verdict = aborted && pending.verdict === 'pass' && !res.headersSent ? 'error' : pending.verdict;
    this.deps.metrics.countRequest(status, verdict, pending.reason, durationMs / 1000);
    this.access({
      reqId: pending.ctx.id,
      ip: pending.ctx.clientIp,
      method: pending.ctx.method,
      path: pending.ctx.path,
      status,
      verdict,
      reason: pending.reason,
      aborted,
      ms: Math.round(durationMs * 100) / 100,
    });
    this.deps.host.onResponse(pending.ctx, { status, verdict, reason: pending.reason, aborted, durationMs });
    if (this.inFlight === 0 && this.drained) this.drained();
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const id = randomUUID();
    const protocol = String(req.headers.upgrade ?? '').toLowerCase();
    if (protocol !== 'websocket' || this.draining) {
      this.deps.metrics.countRequest(400, 'error', 'upgrade_refused', 0);
      this.deps.log.info({ reqId: id, code: 'PAL_UPGRADE_REFUSED', upgrade: protocol }, 'upgrade refused');
      sendRaw(socket, 400, id);
      return;
    }
    const malformed = this.checkRequestTarget(req);
    const resolved = this.ip.resolve(req.socket.remoteAddress, req.headers[this.ip.headerName]);
    const url = req.url ?? '/';
    const ctx = {
      id,
      clientIp: resolved.ip,
      req,
      method: req.method ?? 'GET',
      path: url.split('?')[0] ?? '/',
      startedAt: process.hrtime.bigint(),
      locals: new Map(),
      exempt: false as boolean,
    } satisfies RequestContext;
    const refuse = (status: number, verdict: string, reason: string): void => {
      this.deps.metrics.countRequest(status, verdict, reason, 0);
      this.deps.log.info({ reqId: id, ip: ctx.clientIp, path: ctx.path, status, verdict, reason }, 'upgrade');
      if (status === 444) socket.destroy();
      else sendRaw(socket, status, id);
    };
    if (malformed) return refuse(400, 'error', malformed);
    ctx.exempt = this.deps.host.hasExemptions && this.deps.host.isExempt(ctx);
    if (!ctx.exempt && this.deps.store.bans.match(ctx.clientIp)) {
      return refuse(this.deps.settings.DENY_HTTP_STATUS, 'ban', 'ban');
    }
    const proceed = (result: HookVerdict | HookFailure | undefined): void => {
      if (result instanceof HookFailure) return refuse(503, 'error', `plugin.${result.plugin}`);
      if (result) {
        const v = result.verdict;
        const status = v.kind === 'deny' ? v.status ?? this.deps.settings.DENY_HTTP_STATUS : v.status;
        return refuse(status, v.kind, v.reason);
      }
      prepareUpstreamHeaders(req.headers, { requestId: id, clientIp: ctx.clientIp, ...this.trustedFacts(req, resolved) }, true);
      this.deps.log.info({ reqId: id, ip: ctx.clientIp, path: ctx.path, verdict: 'pass' }, 'upgrade');
      this.deps.metrics.countRequest(101, 'pass', undefined, 0);
      this.deps.forwarder.ws(req, socket, head, (failure, error) => {
        this.deps.log.warn({ reqId: id, err: describeError(error) }, `websocket ${failure}`);
        sendRaw(socket, failure === 'upstream.timeout' ? 504 : 502, id);
      });
    };
    const gate = this.deps.host.onRequest(ctx);
    if (isPromise(gate)) gate.then(proceed, () => refuse(500, 'error', 'internal'));
    else proceed(gate);
  }

  private handleClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    this.deps.metrics.countRequest(status, 'error', 'bad_request', 0);
    this.deps.log.info({ code: 'PAL_BAD_REQUEST', status, parser: error.code }, 'malformed request refused');
    sendRaw(socket, status);
  }
}
