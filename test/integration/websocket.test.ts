import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startPalisade, type PalisadeProcess } from '../helpers/palisade.js';
import { waitFor } from '../helpers/wait.js';

/**
 * WebSocket upgrades run the same pipeline as HTTP requests: ban gate, plugins before and
 * after, one access line, metrics — and the upstream's answer to the handshake is the status.
 */
const TOKEN = 'websocket-admin-token-0123';
let upstream: http.Server;
let upstreamUrl: string;
/** Handshakes the upstream saw, by path. */
const seen: Array<{ path: string; headers: IncomingHttpHeaders }> = [];
let node: PalisadeProcess;

beforeAll(async () => {
  upstream = http.createServer();
  const wss = new WebSocketServer({ noServer: true });
  upstream.on('upgrade', (req, socket, head) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    if (req.url?.startsWith('/missing')) {
      // Refused the way many servers refuse: a body in chunks, which the proxy must re-frame.
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nnot found\r\n0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(`echo:${data.toString()}`)));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  node = await startPalisade({
    REVERSE_PROXY_HOST: upstreamUrl,
    ADMIN_TOKEN: TOKEN,
    USE_REAL_IP: 'yes',
    REAL_IP_FROM: '127.0.0.1',
    BAD_BEHAVIOR_THRESHOLD: '3',
    LIMIT_REQ_RATE: '100r/s',
    LIMIT_REQ_URL_1: '^/limited',
    LIMIT_REQ_RATE_1: '1r/h',
  });
});

afterAll(async () => {
  await node?.stop();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

/** Opens a WebSocket through `proxy` as `ip`; resolves with 101 and an echo, or the refusal's status and body. */
function connect(proxy: PalisadeProcess, path: string, headers: Record<string, string>): Promise<{ status: number; echo?: string; body?: string }> {
  return new Promise((resolve, reject) => {
    const client = new WebSocket(`${proxy.proxyUrl.replace('http', 'ws')}${path}`, { headers });
    client.on('open', () => client.send('ping'));
    client.on('message', (data) => {
      client.close();
      resolve({ status: 101, echo: data.toString() });
    });
    client.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    client.on('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${node.adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('WebSocket upgrades through the pipeline', () => {
  it('passes an upgrade with one access line (status 101), forwarding headers from the trusted chain, counted in /metrics', async () => {
    const reply = await connect(node, '/socket?q=1', { 'x-forwarded-for': '198.51.100.20' });
    expect(reply).toEqual({ status: 101, echo: 'echo:ping' });
    const handshake = seen.findLast((s) => s.path === '/socket?q=1')!;
    expect(handshake.headers['x-forwarded-for']).toBe('198.51.100.20, 127.0.0.1');
    expect(handshake.headers['x-real-ip']).toBe('198.51.100.20');
    const lines = await waitFor(() => {
      const found = node.logs.filter((l) => l.msg === 'request' && l.path === '/socket');
      return found.length > 0 ? found : undefined;
    }, 'the access line');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ ip: '198.51.100.20', method: 'GET', status: 101, verdict: 'pass', reqId: handshake.headers['x-request-id'] });
    const metrics = await (await api('GET', '/metrics')).text();
    expect(metrics).toMatch(/palisade_http_requests_total\{code_class="1xx",verdict="pass",node="test-node"\} [1-9]/);
  });

  it('refuses a banned client before the upstream, with an access line and a count', async () => {
    expect((await api('POST', '/api/bans', { ip: '198.51.100.21', duration: '1h', reason: 'websocket test' })).status).toBe(201);
    const before = seen.length;
    const reply = await connect(node, '/socket-banned', { 'x-forwarded-for': '198.51.100.21' });
    expect(reply.status).toBe(403);
    expect(reply.body).toMatch(/^403 Forbidden\nrequest id: /);
    expect(seen.length).toBe(before);
    const line = await waitFor(() => node.logs.find((l) => l.msg === 'request' && l.path === '/socket-banned'), 'the access line');
    expect(line).toMatchObject({ ip: '198.51.100.21', status: 403, verdict: 'ban', reason: 'ban', code: 'PAL_BANNED' });
    const metrics = await (await api('GET', '/metrics')).text();
    expect(metrics).toMatch(/palisade_blocked_requests_total\{reason="ban",node="test-node"\} [1-9]/);
  });

  it('counts handshakes the upstream refuses (404) as bad behaviour: the client is banned', async () => {
    const ip = '198.51.100.22';
    for (let i = 0; i < 3; i++) {
      const reply = await connect(node, `/missing/${i}`, { 'x-forwarded-for': ip });
      expect(reply).toEqual({ status: 404, body: 'not found' });
    }
    const line = await waitFor(() => node.logs.find((l) => l.msg === 'request' && l.path === '/missing/0'), 'the access line');
    expect(line).toMatchObject({ status: 404, verdict: 'pass' });
    await waitFor(async () => ((await (await api('GET', `/api/bans?ip=${ip}`)).json()) as { bans: unknown[] }).bans.length === 1, 'the bad-behaviour ban');
    expect((await connect(node, '/socket', { 'x-forwarded-for': ip })).status).toBe(403);
  });

  it('counts handshakes a plugin refuses (429) as bad behaviour: the client is banned', async () => {
    const ip = '198.51.100.23';
    expect((await connect(node, '/limited', { 'x-forwarded-for': ip })).status).toBe(101);
    for (let i = 0; i < 3; i++) {
      const reply = await connect(node, '/limited', { 'x-forwarded-for': ip });
      expect(reply.status).toBe(429);
    }
    await waitFor(
      async () => ((await (await api('GET', `/api/bans?ip=${ip}`)).json()) as { bans: Array<{ origin: string }> }).bans[0]?.origin === 'bad-behavior',
      'the bad-behaviour ban',
    );
  });

  it('closes open WebSockets at shutdown instead of waiting for them', async () => {
    const stopping = await startPalisade({ REVERSE_PROXY_HOST: upstreamUrl, SHUTDOWN_TIMEOUT: '1s' });
    let code: number | null | undefined;
    try {
      const client = new WebSocket(`${stopping.proxyUrl.replace('http', 'ws')}/socket-open`);
      await new Promise((resolve, reject) => {
        client.on('open', resolve);
        client.on('error', reject);
      });
      const closed = new Promise((resolve) => client.on('close', resolve));
      code = await stopping.stop();
      await closed;
    } finally {
      // A failure before the stop must not leave the node running.
      if (code === undefined) await stopping.stop();
    }
    // Exit 0 on its own: the helper kills a node that does not stop (15 s) and the code is then null.
    expect(code).toBe(0);
  });

  it('drops an X-Forwarded-For from an untrusted peer before the upstream', async () => {
    const untrusting = await startPalisade({ REVERSE_PROXY_HOST: upstreamUrl });
    try {
      const reply = await connect(untrusting, '/socket-untrusted', {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'evil.test',
      });
      expect(reply.status).toBe(101);
      const handshake = seen.findLast((s) => s.path === '/socket-untrusted')!;
      expect(handshake.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(handshake.headers['x-forwarded-proto']).toBe('http');
      expect(handshake.headers['x-forwarded-host']).not.toBe('evil.test');
    } finally {
      await untrusting.stop();
    }
  });
});
