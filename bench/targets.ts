/**
 * Child-process entry for the servers the bench measures against, each in its own process
 * so it does not share an event loop with the load generator or with the other servers:
 *
 * - `node targets.js upstream`: answers every request 200 `ok` (keep-alive).
 * - `node targets.js bare <upstream-url>`: the baseline, http-proxy with a keep-alive agent
 *   and an 'error' listener, nothing else.
 * - `node targets.js ceiling <upstream-url>`: Node's ceiling for this work, a plain
 *   `http.createServer` forwarding through an undici `Pool` (hop-by-hop headers dropped),
 *   nothing else.
 *
 * Both listen on 127.0.0.1 port 0 and print one line `{"ready":true,"port":N}` on stdout.
 */
import http from 'node:http';
import httpProxy from 'http-proxy';
import { Pool, type Dispatcher } from 'undici';
import type { ReadyLine } from './ready.js';

const BODY = Buffer.from('ok');

function upstreamServer(): http.Server {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  });
  // Longer than any pause between rounds, so a proxy's pooled socket is never closed by the
  // upstream just as the proxy reuses it (that race shows up as a stray 502).
  server.keepAliveTimeout = 65_000;
  return server;
}

function bareProxyServer(target: string): http.Server {
  const proxy = httpProxy.createProxyServer({ target, agent: new http.Agent({ keepAlive: true }) });
  // Without a listener http-proxy throws on an upstream error and the process dies.
  proxy.on('error', (_error, _req, res) => {
    if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
  return http.createServer((req, res) => proxy.web(req, res));
}

/** Headers a proxy does not pass on (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

function ceilingServer(target: string): http.Server {
  const pool = new Pool(target, { connections: 256, keepAliveTimeout: 60_000 });
  return http.createServer((req, res) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    pool.request({ path: req.url ?? '/', method: req.method as Dispatcher.HttpMethod, headers, body: hasBody ? req : null }).then(
      ({ statusCode, headers: answer, body }) => {
        for (const name of HOP_BY_HOP) delete answer[name];
        res.writeHead(statusCode, answer as http.OutgoingHttpHeaders);
        body.pipe(res);
      },
      () => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      },
    );
  });
}

function main(): void {
  const [role, target] = process.argv.slice(2);
  let server: http.Server;
  if (role === 'upstream') server = upstreamServer();
  else if (role === 'bare' && target) server = bareProxyServer(target);
  else if (role === 'ceiling' && target) server = ceilingServer(target);
  else {
    process.stderr.write('usage: targets.js upstream | bare <upstream-url> | ceiling <upstream-url>\n');
    process.exit(2);
  }
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    const line: ReadyLine = { ready: true, port: typeof address === 'object' && address ? address.port : 0 };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  });
  // The parent holds our stdin open; when it goes away (even by SIGKILL) stdin ends and we
  // leave too, so a crashed bench cannot leave a server behind.
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

main();
