import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';

/** Why forwarding failed, as the client is told (502 or 504). */
export type UpstreamFailure = 'upstream.unreachable' | 'upstream.timeout';

/** Marker on errors raised by our own upstream timer (http-proxy's own says only ECONNRESET). */
const TIMED_OUT = Symbol('palisade.upstreamTimeout');

export interface Forwarder {
  /** Forwards an HTTP request; `onFailure` runs once if the upstream fails. */
  web(req: IncomingMessage, res: ServerResponse, onFailure: (failure: UpstreamFailure, error: Error) => void): void;
  /** Forwards a WebSocket handshake and then the raw stream. */
  ws(req: IncomingMessage, socket: Duplex, head: Buffer, onFailure: (failure: UpstreamFailure, error: Error) => void): void;
  /** Hooks into upstream responses before they are written to the client. */
  onUpstreamResponse(listener: (proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse) => void): void;
  close(): void;
}

/**
 * Forwards to one upstream with http-proxy over a keep-alive agent (without it every
 * request opens a new upstream socket: 4× slower). http-proxy's `xfwd` is off: forwarding
 * headers are rebuilt by the caller. The upstream timeout is our own timer so a timeout
 * (504) is told apart from a reset (502).
 */
export function createForwarder(target: URL, timeoutMs: number): Forwarder {
  const secure = target.protocol === 'https:';
  const agentOptions = { keepAlive: true, maxSockets: 512, maxFreeSockets: 256, scheduling: 'lifo' as const };
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const proxy = httpProxy.createProxyServer({
    target: target.origin + (target.pathname === '/' ? '' : target.pathname),
    agent,
    xfwd: false,
    changeOrigin: false,
    ws: true,
    secure: true,
  });
  // Without an 'error' listener http-proxy throws on an upstream reset; per-request callbacks
  // below handle every error, this one only keeps the process alive.
  proxy.on('error', () => undefined);
  proxy.on('proxyReq', (proxyReq) => {
    proxyReq.setTimeout(timeoutMs, () => {
      const error = Object.assign(new Error(`upstream did not answer within ${timeoutMs}ms`), { [TIMED_OUT]: true });
      proxyReq.destroy(error);
    });
  });

  const classify = (error: Error): UpstreamFailure =>
    (error as Error & { [TIMED_OUT]?: boolean })[TIMED_OUT] ? 'upstream.timeout' : 'upstream.unreachable';

  return {
    web(req, res, onFailure) {
      proxy.web(req, res, {}, (error) => onFailure(classify(error), error));
    },
    ws(req, socket, head, onFailure) {
      proxy.ws(req, socket, head, {}, (error) => onFailure(classify(error), error));
    },
    onUpstreamResponse(listener) {
      proxy.on('proxyRes', listener);
    },
    close() {
      proxy.close();
      agent.destroy();
    },
  };
}
