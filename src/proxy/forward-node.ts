import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import {
  classifyUpstreamError,
  upstreamBasePath,
  upstreamTimeout,
  writeAnswerHead,
  type ForwardFailure,
  type OnForwardFailure,
  type UpstreamResponseListener,
} from './upstream-answer.js';

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

  /**
   * Forwards `req` with its body. A body growing past `maxBodyBytes` (0: no limit) fails
   * the forward with `request.too_large` and aborts the upstream request; so does the end
   * of the client's answer while its body is still incomplete (a cut body never reaches the
   * upstream as if it were whole). `prefix`: the body's first bytes, read already (a
   * plugin inspected them), sent before the rest of the stream.
   */
  forward(req: IncomingMessage, res: ServerResponse, headers: string[], maxBodyBytes: number, onFailure: OnForwardFailure, prefix?: Buffer): void {
    // A header list (not an object) is written as is: no setHeader per header.
    const proxyReq = this.request({
      hostname: this.hostname,
      port: this.port,
      method: req.method,
      path: this.targetPath + (req.url ?? '/'),
      headers,
      agent: this.agent,
    });
    proxyReq.setTimeout(this.timeoutMs, () => proxyReq.destroy(upstreamTimeout(this.timeoutMs)));
    let failed = false;
    const fail = (failure: ForwardFailure, error: Error): void => {
      proxyReq.destroy();
      if (failed) return;
      failed = true;
      onFailure(failure, error);
    };
    const onError = (error: NodeJS.ErrnoException): void => {
      // The client went away first: not an upstream failure. Otherwise the caller answers
      // 502/504, or cuts the connection when part of the answer went out already.
      if (req.socket.destroyed) {
        failed = true;
        proxyReq.destroy();
        return;
      }
      fail(classifyUpstreamError(error), error);
    };
    proxyReq.on('error', onError);
    req.on('error', onError);
    res.on('close', () => {
      if (!res.writableFinished || !req.complete) proxyReq.destroy();
    });
    proxyReq.on('response', (proxyRes) => {
      if (!writeAnswerHead({ statusCode: proxyRes.statusCode ?? 502, headers: proxyRes.headers }, proxyRes.statusMessage, req, res, this.listeners)) {
        onError(new Error('the upstream answer has a header that cannot be forwarded'));
        return;
      }
      proxyRes.on('error', onError);
      proxyRes.pipe(res);
    });
    if (maxBodyBytes > 0) {
      // Declared lengths were checked before; this catches a chunked body that keeps growing.
      let received = prefix?.length ?? 0;
      const count = (chunk: Buffer): void => {
        received += chunk.length;
        if (received <= maxBodyBytes) return;
        req.off('data', count);
        req.unpipe(proxyReq);
        fail('request.too_large', new Error(`request body larger than ${maxBodyBytes} bytes`));
      };
      req.on('data', count);
    }
    if (prefix !== undefined) {
      proxyReq.write(prefix);
      // Read to its end already: nothing more will come from the stream.
      if (req.readableEnded) {
        proxyReq.end();
        return;
      }
    }
    req.pipe(proxyReq);
  }

  close(): void {
    this.agent.destroy();
  }
}
