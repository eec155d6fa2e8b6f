import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startPalisade, type PalisadeProcess } from '../helpers/palisade.js';
import { rawRequest } from '../helpers/raw-http.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'integration-admin-token';
let upstream: TestUpstream;
let node: PalisadeProcess;
let port: number;

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    if (req.url === '/hang') return; // never answers: the proxy must time out
    res.writeHead(200, { 'content-type': 'text/plain', connection: 'x-upstream-private', 'x-upstream-private': '1', 'keep-alive': 'timeout=1' });
    res.end(`seen ${req.url}`);
  });
  node = await startPalisade({
    REVERSE_PROXY_HOST: upstream.url,
    ADMIN_TOKEN: TOKEN,
    UPSTREAM_TIMEOUT: '600ms',
    HEADER_TIMEOUT: '500ms',
    USE_REAL_IP: 'no',
  });
  port = Number(new URL(node.proxyUrl).port);
});

afterAll(async () => {
  await node?.stop();
  await upstream?.close();
});

describe('proxying', () => {
  it('strips hop-by-hop headers and rebuilds forwarding headers', async () => {
    const before = upstream.seen.length;
    const reply = await rawRequest(
      port,
      'GET /hygiene?q=1 HTTP/1.1\r\nHost: app.test\r\nConnection: close, X-Secret\r\nX-Secret: hidden\r\nKeep-Alive: timeout=99\r\n' +
        'TE: trailers\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil.test\r\n' +
        'X-Request-Id: forged\r\nX-Kept: yes\r\n\r\n',
    );
    expect(reply.text).toMatch(/^HTTP\/1\.1 200 OK/);
    const seen = upstream.seen[before]!;
    expect(seen.url).toBe('/hygiene?q=1');
    const names = seen.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    for (const name of ['x-secret', 'keep-alive', 'te', 'proxy-authorization']) expect(names).not.toContain(name);
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-host']).toBe('app.test');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-real-ip']).toBe('127.0.0.1');
    expect(seen.headers['x-kept']).toBe('yes');
    expect(seen.headers.host).toBe('app.test');
    const requestId = /x-request-id: ([0-9a-f-]{36})/i.exec(reply.text)?.[1];
    expect(seen.headers['x-request-id']).toBe(requestId);
    // Upstream hop-by-hop headers stay upstream.
    expect(reply.text.toLowerCase()).not.toContain('x-upstream-private');
    expect(reply.text.toLowerCase()).not.toContain('keep-alive: timeout=1');
  });

  it('answers 400 to two Host headers and to an absolute-form target for another host', async () => {
    const twoHosts = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n');
    expect(twoHosts.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(twoHosts.text).toMatch(/request id: [0-9a-f-]{36}/);
    const mismatch = await rawRequest(port, 'GET http://b.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n');
    expect(mismatch.text).toMatch(/^HTTP\/1\.1 400 /);
    const before = upstream.seen.length;
    const matching = await rawRequest(port, 'GET http://a.test/abs?y=2 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
    expect(matching.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(upstream.seen[before]?.url).toBe('/abs?y=2');
    const { waitFor } = await import('../helpers/wait.js');
    await waitFor(() => node.logs.some((l) => l.msg === 'request' && l.path === '/abs'), 'the access line with the rewritten path');
  });

  it('lets Node refuse what its parser rejects (CL+TE, missing Host) with 400, not a crash', async () => {
    const smuggle = await rawRequest(port, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    expect(smuggle.text).toMatch(/^HTTP\/1\.1 400 /);
    const noHost = await rawRequest(port, 'GET / HTTP/1.1\r\n\r\n');
    expect(noHost.text).toMatch(/^HTTP\/1\.1 400 /);
    expect((await fetch(`${node.proxyUrl}/still-alive`)).status).toBe(200);
  });

  it('closes the connection after answering HTTP/1.0 with a chunked body', async () => {
    const reply = await rawRequest(
      port,
      'POST /h10 HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n',
      3_000,
    );
    expect(reply.text).toMatch(/^HTTP\/1\.[01] 200 /);
    // Closed by the server: the helper would have given up after 3 s, with `closed` false.
    expect(reply.closed).toBe(true);
  });

  it('answers 502 with a request id when the upstream refuses, and 504 when it is too slow', async () => {
    const deadPort = await freePort();
    const dead = await startPalisade({ REVERSE_PROXY_HOST: `http://127.0.0.1:${deadPort}` });
    try {
      const refused = await fetch(`${dead.proxyUrl}/`);
      expect(refused.status).toBe(502);
      const text = await refused.text();
      expect(text).toMatch(/^502 Bad Gateway\nrequest id: [0-9a-f-]{36}\n$/);
      expect(text).not.toContain('ECONNREFUSED');
      expect(dead.logs.some((l) => l.code === 'PAL_UPSTREAM_UNREACHABLE')).toBe(true);
    } finally {
      await dead.stop();
    }
    // /hang never answers: a 504 is the UPSTREAM_TIMEOUT at work.
    const slow = await fetch(`${node.proxyUrl}/hang`);
    expect(slow.status).toBe(504);
    expect(await slow.text()).toMatch(/^504 Gateway Timeout\nrequest id: /);
  });

  it('stops the upstream request when the client leaves in the middle of its answer', async () => {
    let upstreamClosed = false;
    let upstreamGotRequest = false;
    // Headers and the first bytes of the body, then nothing: the client is mid-answer.
    const hanging = await startUpstream((req, res) => {
      upstreamGotRequest = true;
      req.socket.on('close', () => (upstreamClosed = true));
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part');
    });
    // A timeout far beyond the test's: only the client's leaving can end the upstream request.
    const proxy = await startPalisade({ REVERSE_PROXY_HOST: hanging.url, UPSTREAM_TIMEOUT: '5m' });
    try {
      const client = http.get(`${proxy.proxyUrl}/slow`);
      client.on('error', () => undefined);
      const response = await new Promise<http.IncomingMessage>((resolve) => client.on('response', resolve));
      response.on('error', () => undefined);
      await new Promise((resolve) => response.once('data', resolve));
      expect(upstreamGotRequest).toBe(true);
      client.destroy();
      await waitFor(() => upstreamClosed || undefined, 'the upstream connection to close');
      const line = await waitFor(() => proxy.logs.find((l) => l.msg === 'request' && l.path === '/slow'), 'the access line');
      expect(line).toMatchObject({ aborted: true });
    } finally {
      await proxy.stop();
      await hanging.close();
    }
  });

  it('closes a connection whose headers arrive too slowly (slowloris) within the header timeout', async () => {
    // Closed by the server (HEADER_TIMEOUT), not by the helper giving up after 10 s.
    const reply = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ', 10_000);
    expect(reply.closed).toBe(true);
  });

  it('writes one access line per request with id, client, method, path, status, verdict and duration', async () => {
    const response = await fetch(`${node.proxyUrl}/logged?secret=1`, { headers: { cookie: 'session=abc' } });
    const id = response.headers.get('x-request-id');
    const { waitFor } = await import('../helpers/wait.js');
    const line = await waitFor(() => node.logs.find((l) => l.reqId === id && l.msg === 'request'), 'the access line');
    expect(line).toMatchObject({ ip: '127.0.0.1', method: 'GET', path: '/logged', status: 200, verdict: 'pass', node: 'test-node' });
    expect(typeof line.ms).toBe('number');
    expect(JSON.stringify(node.logs)).not.toContain('session=abc');
    expect(JSON.stringify(node.logs)).not.toContain(TOKEN);
  });
});

describe('upgrades', () => {
  it('passes WebSocket upgrades and refuses h2c', async () => {
    const wsUpstream = http.createServer();
    const wss = new WebSocketServer({ server: wsUpstream });
    let seenForwardedFor: string | undefined;
    wss.on('connection', (socket, req) => {
      seenForwardedFor = req.headers['x-forwarded-for'] as string;
      socket.on('message', (data) => socket.send(`echo:${data.toString()}`));
    });
    await new Promise<void>((resolve) => wsUpstream.listen(0, '127.0.0.1', resolve));
    const wsNode = await startPalisade({ REVERSE_PROXY_HOST: `http://127.0.0.1:${(wsUpstream.address() as AddressInfo).port}` });
    try {
      const client = new WebSocket(`${wsNode.proxyUrl.replace('http', 'ws')}/socket`);
      const reply = await new Promise<string>((resolve, reject) => {
        client.on('open', () => client.send('ping'));
        client.on('message', (data) => resolve(data.toString()));
        client.on('error', reject);
      });
      client.close();
      expect(reply).toBe('echo:ping');
      expect(seenForwardedFor).toBe('127.0.0.1');

      const h2c = await rawRequest(
        Number(new URL(wsNode.proxyUrl).port),
        'GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n',
      );
      expect(h2c.text).toMatch(/^HTTP\/1\.1 400 /);
    } finally {
      await wsNode.stop();
      wss.close();
      wsUpstream.close();
    }
  });
});

describe('admin listener', () => {
  it('keeps /livez and /readyz open and everything else behind the bearer token', async () => {
    expect((await fetch(`${node.adminUrl}/livez`)).status).toBe(200);
    expect((await fetch(`${node.adminUrl}/readyz`)).status).toBe(200);
    const denied = await fetch(`${node.adminUrl}/metrics`);
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ error: 'missing or wrong bearer token', code: 'PAL_ADMIN_UNAUTHORIZED' });
    expect((await fetch(`${node.adminUrl}/metrics`, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status).toBe(401);
    const metrics = await fetch(`${node.adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/palisade_http_requests_total\{code_class="2xx",verdict="pass",node="test-node"\} \d+/);
    expect(text).toContain('process_cpu_user_seconds_total');
    const missing = await fetch(`${node.adminUrl}/nope`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'PAL_ADMIN_NOT_FOUND' });
  });

  it('is not reachable through the proxy port', async () => {
    const before = upstream.seen.length;
    await fetch(`${node.proxyUrl}/readyz`);
    expect(upstream.seen[before]?.url).toBe('/readyz'); // forwarded upstream, not answered by the admin
  });
});

describe('trusted proxies', () => {
  it('believes X-Forwarded-For only from REAL_IP_FROM peers', async () => {
    const trusting = await startPalisade({ REVERSE_PROXY_HOST: upstream.url, USE_REAL_IP: 'yes', REAL_IP_FROM: '127.0.0.1' });
    try {
      const before = upstream.seen.length;
      await fetch(`${trusting.proxyUrl}/t`, { headers: { 'x-forwarded-for': 'garbage, 198.51.100.7', 'x-forwarded-proto': 'https' } });
      expect(upstream.seen[before]?.headers['x-forwarded-for']).toBe('198.51.100.7, 127.0.0.1');
      expect(upstream.seen[before]?.headers['x-real-ip']).toBe('198.51.100.7');
      expect(upstream.seen[before]?.headers['x-forwarded-proto']).toBe('https');
    } finally {
      await trusting.stop();
    }
    const before = upstream.seen.length;
    await fetch(`${node.proxyUrl}/u`, { headers: { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https' } });
    expect(upstream.seen[before]?.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(upstream.seen[before]?.headers['x-forwarded-proto']).toBe('http');
  });
});
