import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type httpProxy from 'http-proxy';
import { NodeHttpForwarder } from './forward-node.js';
import { UndiciForwarder } from './forward-undici.js';
import {
  classifyUpstreamError,
  upstreamBasePath,
  upstreamTimeout,
  type OnForwardFailure,
  type UpstreamResponseHead,
  type UpstreamResponseListener,
} from './upstream-answer.js';

export type { ForwardFailure, OnForwardFailure, UpstreamResponseHead } from './upstream-answer.js';

/** What the upstream request carries besides the client's method, path and body. */
export interface UpstreamRequest {
  /** Headers as a flat name/value list (see `upstreamHeaderList`). */
  headers: string[];
  /** False when the client's request has no body: the upstream request is ended at once. */
  hasBody: boolean;
  /** The body's first bytes, read already (a plugin inspected them): sent first, then the rest of the stream. */
  prefix?: Buffer;
}

/** What a WebSocket forward reports: the upstream's answer to the handshake, or a failure. */
export interface WebSocketEvents {
  /**
   * The upstream answered the handshake (101, or a refusal such as 404); `head.headers` may
   * still be changed before they are written to the client.
   */
  onHead(head: UpstreamResponseHead): void;
  onFailure: OnForwardFailure;
}

export interface Forwarder {
  /** Forwards an HTTP request; `onFailure` runs once if the upstream fails or the body grows too large. */
  web(req: IncomingMessage, res: ServerResponse, upstream: UpstreamRequest, onFailure: OnForwardFailure): void;
  /** The upstream's `host[:port]`, the Host header of a request that came without one. */
  readonly host: string;
  /** Forwards a WebSocket handshake (headers already prepared in `req.headers`) and then the raw stream. */
  ws(req: IncomingMessage, socket: Duplex, head: Buffer, events: WebSocketEvents): void;
  /** Hooks into upstream answers before they are written to the client. */
  onUpstreamResponse(listener: UpstreamResponseListener): void;
  close(): Promise<void>;
}

/** The events of a WebSocket forward, found again when http-proxy emits `proxyReqWs`. */
const WS_EVENTS = Symbol('palisade.wsEvents');
type WebSocketRequest = IncomingMessage & { [WS_EVENTS]?: WebSocketEvents };

/**
 * Forwards to one upstream, each kind of request by the cheapest path that handles it
 * fully: requests without a body (most traffic) through an undici pool; requests with a
 * body (undici fails on an unasked `100 Continue`) and HEAD (undici closes the connection
 * after each, to guard against servers that send a body anyway) through Node's
 * `http.request` over a keep-alive agent; WebSocket handshakes through http-proxy. Forwarding headers are rebuilt by the caller.
 * `timeoutMs` bounds connecting, waiting for the answer and every pause in it (for a
 * WebSocket: the handshake); running out is told apart (504) from a refusal or reset (502).
 * A request body larger than `maxBodyBytes` (0: no limit) fails with `request.too_large`.
 */
export function createForwarder(target: URL, timeoutMs: number, maxBodyBytes: number): Forwarder {
  const listeners: UpstreamResponseListener[] = [];
  const pooled = new UndiciForwarder(target, timeoutMs, listeners);
  const nodeHttp = new NodeHttpForwarder(target, timeoutMs, listeners);
  const targetPath = upstreamBasePath(target);
  // http-proxy is loaded by the first WebSocket handshake, not at every start of a process
  // that may never see one.
  let wsProxy: Promise<ReturnType<typeof httpProxy.createProxyServer>> | undefined;
  const proxyForWebSockets = (): Promise<ReturnType<typeof httpProxy.createProxyServer>> =>
    (wsProxy ??= import('http-proxy').then(({ default: proxies }) => {
      const proxy = proxies.createProxyServer({
        target: target.origin + targetPath,
        agent: nodeHttp.agent,
        xfwd: false,
        changeOrigin: false,
        ws: true,
        secure: true,
      });
      // Without an 'error' listener http-proxy throws on an upstream reset; the per-request
      // callback handles every error, this one only keeps the process alive.
      proxy.on('error', () => undefined);
      // Our listeners go on before http-proxy's own (it emits this first), so the handshake's
      // answer is seen — and its headers edited — before http-proxy writes it to the client.
      proxy.on('proxyReqWs', (proxyReq: http.ClientRequest, req: WebSocketRequest) => {
        const events = req[WS_EVENTS];
        if (!events) return;
        proxyReq.setTimeout(timeoutMs, () => proxyReq.destroy(upstreamTimeout(timeoutMs)));
        proxyReq.on('upgrade', (proxyRes: http.IncomingMessage, proxySocket: Duplex & { setTimeout(ms: number): void }) => {
          // The timeout bounds the handshake only: an idle WebSocket may stay open.
          proxySocket.setTimeout(0);
          events.onHead({ statusCode: 101, headers: proxyRes.headers });
        });
        proxyReq.on('response', (proxyRes: http.IncomingMessage) => events.onHead({ statusCode: proxyRes.statusCode ?? 502, headers: proxyRes.headers }));
      });
      return proxy;
    }));

  return {
    host: target.host,
    web(req, res, upstream, onFailure) {
      if (upstream.hasBody || req.method === 'HEAD') nodeHttp.forward(req, res, upstream.headers, maxBodyBytes, onFailure, upstream.prefix);
      else pooled.forward(req, res, upstream.headers, onFailure);
    },
    ws(req: WebSocketRequest, socket, head, events) {
      req[WS_EVENTS] = events;
      void proxyForWebSockets().then(
        (proxy) => proxy.ws(req, socket, head, {}, (error) => events.onFailure(classifyUpstreamError(error), error)),
        (error: Error) => events.onFailure(classifyUpstreamError(error), error),
      );
    },
    onUpstreamResponse(listener) {
      listeners.push(listener);
    },
    async close() {
      if (wsProxy) (await wsProxy).close();
      nodeHttp.close();
      await pooled.close();
    },
  };
}
