import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { classifyUpstreamError, upstreamBasePath, upstreamTimeout, writeAnswerHead, type OnUpstreamFailure, type UpstreamResponseListener } from './upstream-answer.js';

/**
 * Requests with a body, and HEAD, through Node's `http.request` over a keep-alive agent:
 * the body is piped as it arrives, any 1xx the upstream sends first (asked for or not) is
 * skipped as RFC 9110 requires of a client, and the connection stays open after a HEAD.
 * The timeout covers every silence of the exchange.
 */
export class NodeHttpForwarder {
  readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly hostname: string;
  private readonly port: number;
  private readonly targetPath: string;

  constructor(
    target: URL,
    private readonly timeoutMs: number,
    private readonly listeners: readonly UpstreamResponseListener[],
  ) {
    const secure = target.protocol === 'https:';
    const agentOptions = { keepAlive: true, maxSockets: 512, maxFreeSockets: 256, scheduling: 'lifo' as const };
    this.agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.request = secure ? https.request : http.request;
    this.hostname = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
    this.port = Number(target.port) || (secure ? 443 : 80);
    this.targetPath = upstreamBasePath(target);
  }

  forward(req: IncomingMessage, res: ServerResponse, headers: string[], onFailure: OnUpstreamFailure): void {
    // A header list (not an object) is written as is: no setHeader per header.
    const proxyReq = this.request({ hostname: this.hostname, port: this.port, method: req.method, path: this.targetPath + (req.url ?? '/'), headers, agent: this.agent });
    proxyReq.setTimeout(this.timeoutMs, () => proxyReq.destroy(upstreamTimeout(this.timeoutMs)));
    let failed = false;
    const onError = (error: NodeJS.ErrnoException): void => {
      proxyReq.destroy();
      // The client went away first: not an upstream failure. Otherwise the caller answers
      // 502/504, or cuts the connection when part of the answer went out already.
      if (failed || req.socket.destroyed) return;
      failed = true;
      onFailure(classifyUpstreamError(error), error);
    };
    proxyReq.on('error', onError);
    req.on('error', onError);
    res.on('close', () => {
      if (!res.writableFinished) proxyReq.destroy();
    });
    proxyReq.on('response', (proxyRes) => {
      if (!writeAnswerHead({ statusCode: proxyRes.statusCode ?? 502, headers: proxyRes.headers }, proxyRes.statusMessage, req, res, this.listeners)) {
        onError(new Error('the upstream answer has a header that cannot be forwarded'));
        return;
      }
      proxyRes.on('error', onError);
      proxyRes.pipe(res);
    });
    req.pipe(proxyReq);
  }

  close(): void {
    this.agent.destroy();
  }
}
