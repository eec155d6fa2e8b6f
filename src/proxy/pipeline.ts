import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { accessWriter, type AccessWriter } from '../access-log.js';
import { coded, type ErrorCode } from '../errors.js';
import { describeError } from '../log.js';
import type { CoreMetrics } from '../metrics.js';
import { accessFieldsOf } from '../plugin/access-fields.js';
import { HookFailure, type BodyRequests, type HookVerdict, type PluginHost } from '../plugin/host.js';
import type { MaybePromise, RequestContext } from '../plugin/types.js';
import type { CoreSettings } from '../settings/types.generated.js';
import type { ClusterStore } from '../store/types.js';
import { BodyGuard, type BodyCut } from './body-guard.js';
import { readBodyPrefix } from './body-reader.js';
import type { ClientResolver } from './client-facts.js';
import { HttpFlow, UpgradeFlow, type Flow, type FlowOwner } from './flows.js';
import type { ForwardFailure, Forwarder, UpstreamResponseHead } from './forward.js';
import { stripResponseHopByHop, type ForwardingFacts } from './headers.js';
import { checkRequest, type Refusal } from './request-checks.js';

export interface PipelineDependencies {
  settings: CoreSettings;
  host: PluginHost;
  store: ClusterStore;
  metrics: CoreMetrics;
  /** Logger for access lines and proxy errors. */
  log: Logger;
  forwarder: Forwarder;
  clients: ClientResolver;
}

type GateResult = HookVerdict | HookFailure | undefined;
/** The phases whose hooks may answer the request. */
type GatePhase = 'onRequest' | 'preProxy';

function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as Promise<T> | undefined)?.then === 'function';
}

/** Status and code of each way forwarding can fail. */
const FORWARD_FAILURES: Record<ForwardFailure, { status: number; code: ErrorCode; message: string }> = {
  'upstream.unreachable': { status: 502, code: 'PAL_UPSTREAM_UNREACHABLE', message: 'upstream unreachable' },
  'upstream.timeout': { status: 504, code: 'PAL_UPSTREAM_TIMEOUT', message: 'upstream timed out' },
  'request.too_large': { status: 413, code: 'PAL_BODY_TOO_LARGE', message: 'request body larger than MAX_CLIENT_SIZE' },
};

/**
 * The request path, for HTTP requests and WebSocket upgrades alike. Every exchange runs the
 * same phases in this order, and none can skip one:
 *
 *  1. malformed — refused (400, or 413 on a declared body past `MAX_CLIENT_SIZE`) before anything looks at it;
 *  2. client facts — IP, trusted peer, scheme, infrastructure, resolved once;
 *  3. body guard — a body that stalls or trickles is cut with 408 whatever phase it is in;
 *  4. ban gate — a synchronous lookup in the node's ban table (503 while the node does not hold the cluster's bans yet);
 *  5. `onRequest`, then 6. `preProxy` — the first verdict answers; between them, when a
 *     plugin asks (`inspectBody`), the body is read (bounded), inspected, then forwarded whole;
 *  7. forward — the upstream's answer goes through `onSend`;
 *  8. finish — `onResponse`, one access line and the metrics, once, however it ended.
 *
 * An upgrade differs only in how it is answered (raw on the socket) and forwarded
 * (http-proxy); its status is the upstream's answer to the handshake. The transport side
 * of each kind lives in `flows.ts`.
 */
export class Pipeline implements FlowOwner {
  private inFlight = 0;
  private idle: (() => void) | undefined;
  /** While draining, answers carry `Connection: close` and upgrades are refused. */
  draining = false;
  private readonly access: AccessWriter;
  private readonly bodies: BodyGuard;
  private readonly maxBodyBytes: number;
  /** `SECURITY_MODE=detect`: checks decide, nothing is refused. */
  private readonly detectOnly: boolean;
  /** `SERVE_WITHOUT_BANS`: serve while the node does not hold the cluster's bans yet. */
  private readonly serveWithoutBans: boolean;
  /** Sockets of open WebSockets: the HTTP server no longer knows them once upgraded. */
  private readonly webSockets = new Set<Duplex>();

  constructor(private readonly deps: PipelineDependencies) {
    const s = deps.settings;
    this.access = accessWriter(deps.log);
    this.maxBodyBytes = s.MAX_CLIENT_SIZE;
    this.detectOnly = s.SECURITY_MODE === 'detect';
    this.serveWithoutBans = s.SERVE_WITHOUT_BANS;
    this.bodies = new BodyGuard({ idleMs: s.CLIENT_BODY_TIMEOUT, minRate: s.CLIENT_BODY_MIN_RATE, graceMs: s.CLIENT_BODY_MIN_RATE_GRACE });
    deps.forwarder.onUpstreamResponse((head, _req, res) => HttpFlow.of(res)?.upstreamHead(head));
  }

  /** Exchanges started and not finished yet. */
  get active(): number {
    return this.inFlight;
  }

  /** Resolves when no exchange is in flight. */
  whenIdle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => (this.idle = resolve));
  }

  /** A WebSocket is open on `socket` (the upstream answered 101) until it closes. */
  adoptWebSocket(socket: Duplex): void {
    this.webSockets.add(socket);
    socket.once('close', () => this.webSockets.delete(socket));
  }

  /** Stops the body guard's timer and closes every open WebSocket (the end of a drain). */
  close(): void {
    this.bodies.close();
    for (const socket of this.webSockets) socket.destroy();
    this.webSockets.clear();
  }

  /** An HTTP request (`expectsContinue`: the client waits for `100 Continue` before its body). */
  http(req: IncomingMessage, res: ServerResponse, expectsContinue = false): void {
    const flow = new HttpFlow(this, req, res, randomUUID(), expectsContinue);
    if (this.draining) flow.closeAfter();
    this.run(flow, undefined);
  }

  /** A protocol upgrade (only WebSocket passes, and not while draining), or a CONNECT (refused: 405). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const flow = new UpgradeFlow(this, req, socket, head, randomUUID());
    const protocol = String(req.headers.upgrade ?? '').toLowerCase();
    const refusal: Refusal | undefined =
      req.method === 'CONNECT'
        ? { status: 405, reason: 'connect.refused', code: 'PAL_CONNECT_REFUSED' }
        : protocol !== 'websocket'
          ? { status: 400, reason: 'upgrade.refused', code: 'PAL_UPGRADE_REFUSED' }
          : this.draining
            ? { status: 503, reason: 'draining', code: 'PAL_UPGRADE_REFUSED' }
            : undefined;
    this.run(flow, refusal);
  }

  private run(flow: Flow, early: Refusal | undefined): void {
    this.inFlight++;
    const { req } = flow;
    // 1. Malformed. First: an absolute-form target is rewritten to the path the context shows.
    const refusal = early ?? checkRequest(req, this.maxBodyBytes);
    // 2. Client facts (a refused request is logged with its client too).
    const facts = this.deps.clients.resolve(req);
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const ctx = {
      id: flow.id,
      clientIp: facts.ip,
      trustedPeer: facts.trustedPeer,
      scheme: facts.scheme,
      infrastructure: facts.infrastructure,
      kind: flow.kind,
      req,
      method: req.method ?? 'GET',
      path: query === -1 ? url : url.slice(0, query),
      startedAt: flow.startedAt,
      locals: new Map(),
      exempt: false as boolean,
    } satisfies RequestContext;
    flow.begin(ctx, facts);
    if (refusal) return this.refuse(flow, refusal.status, 'error', refusal.reason, refusal.code);
    // 3. Body guard: from here on, a stalled or trickling body is cut in whatever phase.
    if (flow.hasBody && !req.complete) this.bodies.watch(req, (why) => this.bodyCut(flow, why));
    // 4. Ban gate.
    ctx.exempt = this.deps.host.hasExemptions && this.deps.host.isExempt(ctx);
    if (!ctx.exempt && this.deps.store.bans.match(ctx.clientIp)) {
      if (!this.detectOnly) return this.refuse(flow, this.deps.settings.DENY_HTTP_STATUS, 'ban', 'ban', 'PAL_BANNED');
      flow.detected ??= { verdict: 'ban', reason: 'ban' };
    }
    // A node without the cluster's bans yet cannot tell who is banned: closed until it can.
    if (!ctx.exempt && !this.serveWithoutBans && !this.deps.store.holdsBans()) {
      if (!this.detectOnly) return this.refuse(flow, 503, 'error', 'bans.not_loaded', 'PAL_BANS_NOT_LOADED', { 'retry-after': '5' });
      flow.detected ??= { verdict: 'error', reason: 'bans.not_loaded' };
    }
    flow.sendContinue();
    // 5. onRequest.
    this.gate(flow, this.deps.host.onRequest(ctx), 'onRequest');
  }

  /** Goes on after a gate phase (`onRequest` or `preProxy`); synchronous while hooks are. */
  private gate(flow: Flow, result: MaybePromise<GateResult>, phase: GatePhase): void {
    if (isPromise(result)) {
      result.then(
        (settled) => this.afterGate(flow, settled, phase),
        (error: unknown) => this.internalError(flow, error),
      );
    } else this.afterGate(flow, result, phase);
  }

  private afterGate(flow: Flow, result: GateResult, phase: GatePhase): void {
    if (flow.settled) return; // cut (slow body) or gone while a hook was waiting
    if (result instanceof HookFailure) return this.refuse(flow, 503, 'error', `plugin.${result.plugin}`, 'PAL_PLUGIN_HOOK_FAILED');
    if (result && this.detectOnly) {
      // Detect mode: note what would have answered, and let the rest of the phase decide too.
      flow.detected ??= { verdict: result.verdict.kind, reason: result.verdict.reason };
      const host = this.deps.host;
      return this.gate(flow, phase === 'onRequest' ? host.onRequest(flow.ctx, result.index + 1) : host.preProxy(flow.ctx, result.index + 1), phase);
    }
    if (result) return this.render(flow, result);
    if (phase === 'onRequest') {
      // 5b. The body, when a plugin asks for it.
      const asked = flow.hasBody ? this.deps.host.bodyInspections(flow.ctx) : undefined;
      if (asked) return void this.inspectBody(flow, asked);
      // 6. preProxy.
      return this.gate(flow, this.deps.host.preProxy(flow.ctx), 'preProxy');
    }
    this.forward(flow);
  }

  /**
   * 5b. Reads the body up to the largest size a plugin asked for, refuses one over a limit a
   * plugin will not inspect past (413), runs the inspections (the first verdict answers; in
   * detect mode it is noted and the rest still run), then goes on to `preProxy` with the
   * body read kept for the upstream.
   */
  private async inspectBody(flow: Flow, asked: BodyRequests): Promise<void> {
    try {
      const max = Math.max(...asked.map((a) => a.inspection.maxBytes));
      const read = await readBodyPrefix(flow.req, max);
      if (read === undefined || flow.settled) return;
      flow.bodyPrefix = read.body;
      const tooLarge = asked.find((a) => a.inspection.overLimit === 'refuse' && read.body.length > a.inspection.maxBytes);
      if (tooLarge) {
        if (!this.detectOnly) return this.refuse(flow, 413, 'deny', `${tooLarge.hook.plugin}.body_too_large`, 'PAL_BODY_TOO_LARGE');
        flow.detected ??= { verdict: 'deny', reason: `${tooLarge.hook.plugin}.body_too_large` };
      }
      let result = await this.deps.host.inspectBody(asked, read.body, !read.complete);
      while (result && !(result instanceof HookFailure) && this.detectOnly && !flow.settled) {
        flow.detected ??= { verdict: result.verdict.kind, reason: result.verdict.reason };
        result = await this.deps.host.inspectBody(asked, read.body, !read.complete, result.index + 1);
      }
      if (flow.settled) return;
      if (result instanceof HookFailure) return this.refuse(flow, 503, 'error', `plugin.${result.plugin}`, 'PAL_PLUGIN_HOOK_FAILED');
      if (result) return this.render(flow, result);
      this.gate(flow, this.deps.host.preProxy(flow.ctx), 'preProxy');
    } catch (error) {
      this.internalError(flow, error);
    }
  }

  /** 7. Forward, with the forwarding headers rebuilt from the client facts. */
  private forward(flow: Flow): void {
    const { ctx, facts, req } = flow;
    const claimedHost = facts.trustedPeer ? req.headers['x-forwarded-host'] : undefined;
    const forwarding: ForwardingFacts = {
      requestId: ctx.id,
      clientIp: ctx.clientIp,
      chain: facts.chain,
      proto: ctx.scheme,
      host: typeof claimedHost === 'string' && claimedHost !== '' ? claimedHost : req.headers.host,
    };
    flow.forward(this.deps.forwarder, forwarding);
  }

  /** The upstream's answer head, before the client gets it: hop-by-hop out, plugins' `onSend`. */
  upstreamHead(flow: Flow, head: UpstreamResponseHead): void {
    if (flow.settled) return;
    const headers = head.headers;
    // A 101 keeps its Connection and Upgrade: they are the handshake.
    if (head.statusCode !== 101) {
      stripResponseHopByHop(headers);
      flow.finishHead(headers);
    }
    headers['x-request-id'] = flow.id;
    this.deps.host.onSend(flow.ctx, { statusCode: head.statusCode, headers });
  }

  /** Forwarding failed: 502/504 (or 413) while nothing was sent, a cut connection after. */
  forwardFailed(flow: Flow, failure: ForwardFailure, error: Error): void {
    if (flow.settled) return;
    const { status, code, message } = FORWARD_FAILURES[failure];
    if (failure !== 'request.too_large') this.deps.log.warn(coded(code, { reqId: flow.id, err: describeError(error) }), message);
    if (flow.answered) {
      flow.note('error', failure, code);
      flow.drop();
      return;
    }
    this.refuse(flow, status, 'error', failure, code);
  }

  /**
   * 3. A body too slow for the rules: 408 and the connection closed, or — when an answer
   * already went out (the upstream answered early) — the connection cut. Either way the
   * upstream request is aborted with it.
   */
  private bodyCut(flow: Flow, why: BodyCut): void {
    this.deps.log.info(coded('PAL_REQUEST_TIMEOUT', { reqId: flow.id, ip: flow.ctx.clientIp, why }), 'request body too slow: connection closed');
    if (!flow.finished && !flow.answered) return this.refuse(flow, 408, 'error', why, 'PAL_REQUEST_TIMEOUT');
    if (!flow.finished) flow.note('error', why, 'PAL_REQUEST_TIMEOUT');
    flow.req.socket.destroy();
  }

  private internalError(flow: Flow, error: unknown): void {
    this.deps.log.error(coded('PAL_INTERNAL', { reqId: flow.id, err: describeError(error) }), 'request pipeline failed');
    if (flow.settled) return;
    if (flow.answered) flow.drop();
    else this.refuse(flow, 500, 'error', 'internal', 'PAL_INTERNAL');
  }

  private render(flow: Flow, result: HookVerdict): void {
    const { verdict } = result;
    switch (verdict.kind) {
      case 'deny':
        return this.refuse(flow, verdict.status ?? this.deps.settings.DENY_HTTP_STATUS, 'deny', verdict.reason, 'PAL_DENIED');
      case 'respond':
        flow.note('respond', verdict.reason, undefined, verdict.status);
        return flow.answer(verdict.status, verdict.headers, verdict.body);
      case 'redirect':
        flow.note('redirect', verdict.reason, undefined, verdict.status);
        return flow.answer(verdict.status, { location: verdict.location });
      case 'challenge':
        flow.note('challenge', verdict.reason, undefined, verdict.status);
        return flow.answer(verdict.status, { 'content-type': 'text/html; charset=utf-8', ...verdict.headers }, verdict.body);
    }
  }

  /** Answers from the proxy itself; 444 closes the connection without an answer. */
  private refuse(flow: Flow, status: number, verdict: string, reason: string, code: ErrorCode | undefined, headers: Record<string, string> = {}): void {
    flow.note(verdict, reason, code, status);
    if (status === 444) return flow.drop();
    // After a malformed request or a cut body, the connection cannot be trusted to carry another.
    flow.answer(status, headers, undefined, status === 400 || status === 408 || status === 413);
  }

  /** 8. Finish: `onResponse`, the access line and the metrics, exactly once per exchange. */
  finish(flow: Flow, status: number, aborted: boolean): void {
    this.inFlight--;
    const { ctx } = flow;
    const durationMs = Number(process.hrtime.bigint() - ctx.startedAt) / 1e6;
    // A client that left before any answer: no status was sent (nginx's 499).
    const detected = flow.verdict === 'pass' && flow.detected !== undefined ? flow.detected : undefined;
    const verdict = aborted && flow.verdict === 'pass' && !flow.answered ? 'error' : detected ? `detect:${detected.verdict}` : flow.verdict;
    const reason = verdict === 'error' && flow.reason === undefined ? 'client.gone' : detected && verdict !== 'error' ? detected.reason : flow.reason;
    this.deps.metrics.countRequest(status, verdict, reason, durationMs / 1000);
    this.access({
      reqId: ctx.id,
      ip: ctx.clientIp,
      method: ctx.method,
      path: ctx.path,
      status,
      verdict,
      reason,
      code: flow.code,
      aborted,
      ms: Math.round(durationMs * 100) / 100,
      fields: accessFieldsOf(ctx),
    });
    this.deps.host.onResponse(ctx, { status, verdict, reason, aborted, durationMs });
    if (this.inFlight === 0 && this.idle) {
      this.idle();
      this.idle = undefined;
    }
  }
}
