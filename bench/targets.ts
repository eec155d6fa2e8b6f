/**
 * Child-process entry for the servers the bench measures against, each in its own process
 * so it does not share an event loop with the load generator or with the other servers:
 *
 * - `node targets.js upstream`: answers every request 200 `ok` (keep-alive).
 * - `node targets.js bare <upstream-url>`: the baseline, http-proxy with a keep-alive agent
 *   and an 'error' listener, nothing else.
 *
 * Both listen on 127.0.0.1 port 0 and print one line `{"ready":true,"port":N}` on stdout.
 */
import http from 'node:http';
import httpProxy from 'http-proxy';
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

function main(): void {
  const [role, target] = process.argv.slice(2);
  let server: http.Server;
  if (role === 'upstream') server = upstreamServer();
  else if (role === 'bare' && target) server = bareProxyServer(target);
  else {
    process.stderr.write('usage: targets.js upstream | bare <upstream-url>\n');
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
