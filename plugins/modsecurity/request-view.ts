import type { RequestContext } from '../../src/plugin/index.js';
import type { WafRequest } from '../../src/waf/index.js';

/**
 * The request as the WAF sees it: Node's parse as received — the raw target, the headers in
 * arrival order with their names as sent (`rawHeaders`), latin1 byte strings throughout —
 * with the client as the proxy resolved it (a trusted proxy's X-Forwarded-For).
 */
export function wafRequestOf(ctx: RequestContext): WafRequest {
  const { req } = ctx;
  const raw = req.rawHeaders;
  const headers: Array<readonly [string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) headers.push([raw[i]!, raw[i + 1]!]);
  return {
    method: ctx.method,
    uri: req.url ?? '/',
    protocol: `HTTP/${req.httpVersion}`,
    headers,
    remoteAddress: ctx.clientIp,
    remotePort: req.socket.remotePort ?? 0,
    serverPort: req.socket.localPort ?? 0,
  };
}
