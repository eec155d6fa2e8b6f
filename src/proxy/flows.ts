import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../errors.js';
import type { RequestContext } from '../plugin/types.js';
import type { ClientFacts } from './client-facts.js';
import type { ForwardFailure, Forwarder, UpstreamResponseHead } from './forward.js';
import { prepareUpstreamHeaders, upstreamHeaderList, type ForwardingFacts } from './headers.js';
import { sendPlain, sendRaw } from './render.js';

/**
 * What a flow tells the pipeline that owns its phases (the pipeline implements it): the
 * upstream's answer, a failed forward, the end of the exchange, an open WebSocket; and
 * whether the node is draining.
 */
export interface FlowOwner {
  readonly draining: boolean;
  upstreamHead(flow: Flow, head: UpstreamResponseHead): void;
  forwardFailed(flow: Flow, failure: ForwardFailure, error: Error): void;
  finish(flow: Flow, status: number, aborted: boolean): void;
  adoptWebSocket(socket: Duplex): void;
}

/**
 * One exchange on its way through the pipeline (its {@link FlowOwner}): the request, what
 * the pipeline decided, and how this kind of exchange is answered and forwarded. The
 * pipeline owns the phases; a flow only knows its transport.
 */
export abstract class Flow {
  abstract readonly kind: RequestContext['kind'];
  /** True when a request body follows the headers. */
  abstract readonly hasBody: boolean;
  readonly startedAt = process.hrtime.bigint();
  ctx!: RequestContext;
  facts!: ClientFacts;
  /** `pass` until the proxy decides otherwise (verdict kind, `ban` or `error`). */
  verdict = 'pass';
  reason: string | undefined;
  code: ErrorCode | undefined;
  /** The status the proxy answered with, when it answered itself. */
  status: number | undefined;
  /** The body's first bytes when a plugin inspected them: they go upstream first. */
  bodyPrefix: Buffer | undefined;
  /** What would have refused the request, in `SECURITY_MODE=detect` (the first check that would have). */
  detected: { verdict: string; reason: string } | undefined;
  /** True once the proxy answered, refused or cut the exchange itself. */
  protected decided = false;
  /** True once `finish` ran. */
  finished = false;

  constructor(
    protected readonly pipeline: FlowOwner,
    readonly req: IncomingMessage,
    readonly id: string,
  ) {}

  /** Called once the pipeline resolved the context. */
  begin(ctx: RequestContext, facts: ClientFacts): void {
    this.ctx = ctx;
    this.facts = facts;
  }

  /** Records the proxy's own decision; the exchange goes no further through the phases. */
  note(verdict: string, reason: string, code: ErrorCode | undefined, status?: number): void {
    this.verdict = verdict;
    this.reason = reason;
    this.code = code;
    if (status !== undefined) this.status = status;
    this.decided = true;
  }

  /** True when no further phase may run: decided, finished, or the client is gone. */
  abstract get settled(): boolean;
  /** True once the head of an answer (the proxy's or the upstream's) went to the client. */
  abstract get answered(): boolean;
  /** Answers from the proxy; `close` ends the connection after it (always for an unread body). */
  abstract answer(status: number, headers: Record<string, string>, body?: string | Buffer, close?: boolean): void;
  /** Cuts the connection without (the rest of) an answer. */
  abstract drop(): void;
  /** Sends the client its `100 Continue` when it waits for one (only HTTP can). */
  abstract sendContinue(): void;
  /** Sends the request upstream with the forwarding headers built from `facts`. */
  abstract forward(forwarder: Forwarder, facts: ForwardingFacts): void;
  /** Sets what this transport needs in an upstream answer's head (hop-by-hop headers are already gone). */
  abstract finishHead(headers: UpstreamResponseHead['headers']): void;
}

/** How long a refused client may go on sending after our answer before the connection is cut. */
const LINGER_MS = 2_000;

/**
 * nginx's lingering close: a client refused while its body is still coming keeps sending
 * for a moment; closing at once with its bytes unread makes our TCP stack answer them with a
 * reset, and the client's may drop our answer (a 413, a 408) before it reads it. So the
 * rest of the body is read and dropped, our side is half-closed after the answer, and the
 * connection ends when the client closes its side — or after {@link LINGER_MS}.
 */
function lingerOnClose(req: IncomingMessage): void {
  const socket = req.socket as IncomingMessage['socket'] & { destroySoon?: () => void };
  req.resume();
  // Node ends a `Connection: close` answer with destroySoon(): half-close instead, and wait.
  socket.destroySoon = function lingering(this: typeof socket): void {
    this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
  };
}

/** The flow of a response, for the one 'close' listener every response shares. */
const FLOW = Symbol('palisade.flow');
type TrackedResponse = ServerResponse & { [FLOW]?: HttpFlow };

function onResponseClose(this: TrackedResponse): void {
  this[FLOW]?.closed();
}

const CONNECTION_CLOSE = /(?:^|,)\s*close\s*(?:,|$)/i;

/** An HTTP request: answered through its `ServerResponse`, finished when the response closes. */
export class HttpFlow extends Flow {
  readonly kind = 'http';
  readonly hasBody: boolean;
  private readonly clientWantsClose: boolean;

  constructor(
    pipeline: FlowOwner,
    req: IncomingMessage,
    private readonly res: TrackedResponse,
    id: string,
    private readonly expectsContinue: boolean,
  ) {
    super(pipeline, req, id);
    const length = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    this.hasBody = chunked || (length !== undefined && length !== '0');
    const connection = req.headers.connection;
    // HTTP/1.0 with a chunked body is a smuggling vector: answer it, then close.
    this.clientWantsClose = (connection !== undefined && CONNECTION_CLOSE.test(connection)) || (chunked && req.httpVersion === '1.0');
    if (this.clientWantsClose) res.shouldKeepAlive = false;
    res[FLOW] = this;
    res.on('close', onResponseClose);
  }

  /** The flow of `res`, if the pipeline runs one. */
  static of(res: ServerResponse): HttpFlow | undefined {
    return (res as TrackedResponse)[FLOW];
  }

  /** Closes the connection after this exchange (draining). */
  closeAfter(): void {
    this.res.shouldKeepAlive = false;
  }

  get settled(): boolean {
    return this.decided || this.finished || this.res.destroyed;
  }

  get answered(): boolean {
    return this.res.headersSent;
  }

  answer(status: number, headers: Record<string, string>, body?: string | Buffer, close = false): void {
    if (this.res.headersSent || this.res.destroyed) return this.drop();
    // Unread: still arriving, or paused after the part a plugin inspected.
    const unread = this.hasBody && (!this.req.complete || (this.bodyPrefix !== undefined && !this.req.readableEnded));
    if (unread) lingerOnClose(this.req);
    sendPlain(this.res, status, this.id, close || unread ? { ...headers, connection: 'close' } : headers, body);
  }

  drop(): void {
    this.res.destroy();
  }

  sendContinue(): void {
    if (this.expectsContinue && !this.res.headersSent) this.res.writeContinue();
  }

  forward(forwarder: Forwarder, facts: ForwardingFacts): void {
    const upstream = {
      headers: upstreamHeaderList(this.req.headers, facts, forwarder.host),
      hasBody: this.hasBody,
      ...(this.bodyPrefix ? { prefix: this.bodyPrefix } : {}),
    };
    forwarder.web(this.req, this.res, upstream, (failure, error) => this.pipeline.forwardFailed(this, failure, error));
  }

  upstreamHead(head: UpstreamResponseHead): void {
    this.pipeline.upstreamHead(this, head);
  }

  finishHead(headers: UpstreamResponseHead['headers']): void {
    // Node ends the connection after this answer when the client did not ask to keep it
    // (HTTP/1.0 without keep-alive) or when a body without a length can only end by closing
    // (HTTP/1.0 has no chunked encoding): say so rather than promise keep-alive.
    // An upstream that answered before the whole body arrived: the rest is never read, so the
    // connection cannot carry another request.
    const closes =
      this.clientWantsClose ||
      this.pipeline.draining ||
      !this.res.shouldKeepAlive ||
      (this.hasBody && !this.req.complete) ||
      (this.req.httpVersion === '1.0' && headers['content-length'] === undefined);
    headers.connection = closes ? 'close' : 'keep-alive';
  }

  /** The response closed: finished, or the client left. */
  closed(): void {
    if (this.finished) return;
    this.finished = true;
    const res = this.res;
    this.pipeline.finish(this, this.status ?? (res.headersSent ? res.statusCode : 499), !res.writableFinished);
  }
}

/**
 * A WebSocket upgrade: answered raw on its socket, forwarded by http-proxy, finished when
 * the handshake is answered — by the proxy, or by the upstream (101, or its refusal) — or
 * when the client leaves before that. The WebSocket itself may live on for hours.
 */
export class UpgradeFlow extends Flow {
  readonly kind = 'websocket';
  readonly hasBody = false;
  private headWritten = false;

  constructor(
    pipeline: FlowOwner,
    req: IncomingMessage,
    private readonly socket: Duplex,
    private readonly head: Buffer,
    id: string,
  ) {
    super(pipeline, req, id);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => this.end(this.status ?? 499, !this.headWritten));
  }

  get settled(): boolean {
    return this.decided || this.finished || this.socket.destroyed;
  }

  get answered(): boolean {
    return this.headWritten;
  }

  answer(status: number, headers: Record<string, string>, body?: string | Buffer): void {
    if (this.headWritten) return this.drop();
    this.headWritten = true;
    sendRaw(this.socket, status, this.id, headers, body);
    this.end(status, false);
  }

  drop(): void {
    this.socket.destroy();
  }

  sendContinue(): void {
    // A handshake has no body to wait for.
  }

  forward(forwarder: Forwarder, facts: ForwardingFacts): void {
    // http-proxy sends `req.headers`: prepared in place, keeping the Upgrade handshake.
    prepareUpstreamHeaders(this.req.headers, facts, true);
    forwarder.ws(this.req, this.socket, this.head, {
      onHead: (head) => {
        this.pipeline.upstreamHead(this, head);
        if (head.statusCode === 101) this.pipeline.adoptWebSocket(this.socket);
        this.headWritten = true;
        this.end(head.statusCode, false);
      },
      onFailure: (failure, error) => this.pipeline.forwardFailed(this, failure, error),
    });
  }

  finishHead(headers: UpstreamResponseHead['headers']): void {
    // A refused handshake's answer is written raw (its body as it is decoded) and ends with
    // the connection: no chunked framing, no keep-alive.
    delete headers['transfer-encoding'];
    headers.connection = 'close';
  }

  private end(status: number, aborted: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.pipeline.finish(this, status, aborted);
  }
}
