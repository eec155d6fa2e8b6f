import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import { NodeHttpForwarder } from './forward-node.js';
import { UndiciForwarder } from './forward-undici.js';
import { classifyUpstreamError, upstreamBasePath, upstreamTimeout, type OnUpstreamFailure, type UpstreamResponseListener } from './upstream-answer.js';

export type { OnUpstreamFailure, UpstreamFailure, UpstreamResponseHead } from './upstream-answer.js';

/** What the upstream request carries besides the client's method, path and body. */
export interface UpstreamRequest {
  /** Headers as a flat name/value list (see `upstreamHeaderList`). */
  headers: string[];
  /** False when the client's request has no body: the upstream request is ended at once. */
  hasBody: boolean;
}

export interface Forwarder {
  /** Forwards an HTTP request; `onFailure` runs once if the upstream fails. */
  web(req: IncomingMessage, res: ServerResponse, upstream: UpstreamRequest, onFailure: OnUpstreamFailure): void;
  /** The upstream's `host[:port]`, the Host header of a request that came without one. */
  readonly host: string;
  /** Forwards a WebSocket handshake and then the raw stream. */
  ws(req: IncomingMessage, socket: Duplex, head: Buffer, onFailure: OnUpstreamFailure): void;
  /** Hooks into upstream answers before they are written to the client. */
  onUpstreamResponse(listener: UpstreamResponseListener): void;
  close(): Promise<void>;
}

/**
 * Forwards to one upstream, each kind of request by the cheapest path that handles it
 * fully: requests without a body (most traffic) through an undici pool; requests with a
 * body (undici fails on an unasked `100 Continue`) and HEAD (undici closes the connection
 * after each, to guard against servers that send a body anyway) through Node's
 * `http.request` over a keep-alive agent; WebSocket handshakes through http-proxy. Forwarding headers are rebuilt by the caller. `timeoutMs` bounds
 * connecting, waiting for the answer and every pause in it; running out is told apart (504)
 * from a refusal or reset (502).
 */
export function createForwarder(target: URL, timeoutMs: number): Forwarder {
  const listeners: UpstreamResponseListener[] = [];
  const pooled = new UndiciForwarder(target, timeoutMs, listeners);
  const nodeHttp = new NodeHttpForwarder(target, timeoutMs, listeners);
  const targetPath = upstreamBasePath(target);
  const proxy = httpProxy.createProxyServer({ target: target.origin + targetPath, agent: nodeHttp.agent, xfwd: false, changeOrigin: false, ws: true, secure: true });
  // Without an 'error' listener http-proxy throws on an upstream reset; the per-request
  // callback handles every error, this one only keeps the process alive.
  proxy.on('error', () => undefined);
  proxy.on('proxyReq', (proxyReq) => proxyReq.setTimeout(timeoutMs, () => proxyReq.destroy(upstreamTimeout(timeoutMs))));

  return {
    host: target.host,
    web(req, res, upstream, onFailure) {
      if (upstream.hasBody || req.method === 'HEAD') nodeHttp.forward(req, res, upstream.headers, onFailure);
      else pooled.forward(req, res, upstream.headers, onFailure);
    },
    ws(req, socket, head, onFailure) {
      proxy.ws(req, socket, head, {}, (error) => onFailure(classifyUpstreamError(error), error));
    },
    onUpstreamResponse(listener) {
      listeners.push(listener);
    },
    async close() {
      proxy.close();
      nodeHttp.close();
      await pooled.close();
    },
  };
}
