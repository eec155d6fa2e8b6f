import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Writable, type Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../src/node.js';
import { definePlugin } from '../../src/plugin/define.js';
import type { RequestOutcome } from '../../src/plugin/types.js';
import { deny, redirect, respond } from '../../src/plugin/verdict.js';
import { settingsSpec } from '../../src/plugin/catalog.js';
import { loadSettings } from '../../src/settings/load.js';
import { rawRequest } from '../helpers/raw-http.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../helpers/ports.js';

/**
 * The request pipeline through real sockets, with fixture plugins in the host: the ban gate,
 * every verdict kind, fail-open / fail-closed hooks, exemptions and onResponse.
 */
const outcomes: Array<{ path: string; outcome: RequestOutcome }> = [];
const phases = definePlugin({
  manifest: { id: 'phases', name: 'Phases', description: '', version: '1.0.0', dependsOn: [], onFailure: 'open', settings: {} },
  provision: () => ({
    exemptFromBans: (ctx) => ctx.req.headers['x-exempt'] === 'yes',
    onRequest(ctx) {
      switch (ctx.path) {
        case '/deny':
          return deny('phases.deny');
        case '/drop':
          return deny(444, 'phases.drop');
        case '/limited':
          return respond(429, 'phases.limit', 'slow down', { 'retry-after': '7' });
        case '/go':
          return redirect('/elsewhere', 'phases.redirect');
        case '/open-failure':
          throw new Error('open hook broke');
        case '/async':
          return Promise.resolve(deny(451, 'phases.async'));
      }
      return undefined;
    },
    preProxy(ctx) {
      ctx.req.headers['x-added-by-plugin'] = 'yes';
      // Another case than Node's: must replace the client's header, not go out beside it.
      if (ctx.path === '/case') ctx.req.headers['X-User'] = 'plugin';
    },
    onSend(ctx, response) {
      response.headers['x-seen-by-plugin'] = String(response.statusCode);
      if (ctx.path === '/case') response.headers['Content-Type'] = 'text/x-plugin';
    },
    onResponse(ctx, outcome) {
      outcomes.push({ path: ctx.path, outcome });
    },
    // Bodies of /inspect* are read (64 bytes at most) and refused when they say "evil".
    inspectBody(ctx) {
      if (!ctx.path.startsWith('/inspect')) return undefined;
      return {
        maxBytes: 64,
        overLimit: ctx.path === '/inspect-partial' ? 'partial' : 'refuse',
        inspect: (body, truncated) => {
          inspected.push({ text: body.toString('latin1'), truncated });
          return body.includes('evil') ? deny('phases.body') : undefined;
        },
      };
    },
  }),
});
const inspected: Array<{ text: string; truncated: boolean }> = [];
const strict = definePlugin({
  manifest: { id: 'strict', name: 'Strict', description: '', version: '1.0.0', dependsOn: [], onFailure: 'closed', settings: {} },
  provision: () => ({
    onRequest(ctx) {
      if (ctx.path === '/closed-failure') throw new Error('closed hook broke');
    },
  }),
});

/** A client the tests ban (the node believes X-Forwarded-For from the test). */
const BANNED_CLIENT = { 'x-forwarded-for': '198.51.100.7' };
let upstream: TestUpstream;
let node: RunningNode;
let base: string;
const sink = new Writable({ write: (_chunk, _enc, done) => done() });

beforeAll(async () => {
  // The upstream says how many body bytes it got, and their first ones.
  upstream = await startUpstream((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': 'text/plain', 'x-body-bytes': String(body.length), 'x-body-start': body.subarray(0, 16).toString('latin1') });
      res.end('upstream ok');
    });
  });
  const loaded = await loadSettings(settingsSpec([phases, strict]), {
    HTTP_ADDRESS: '127.0.0.1',
    HTTP_PORT: String(await freePort()),
    ADMIN_LISTEN: `127.0.0.1:${await freePort()}`,
    REVERSE_PROXY_HOST: upstream.url,
    NODE_NAME: 'pipeline',
    LOG_LEVEL: 'silent',
    // The test speaks as any client through X-Forwarded-For (loopback itself may not be banned).
    USE_REAL_IP: 'yes',
    REAL_IP_FROM: '127.0.0.1',
    // Plugins defined here exist in this process only.
    WORKERS: '0',
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  node = await startNode({ settings: loaded.settings, plugins: [phases, strict], logDestination: sink });
  base = `http://127.0.0.1:${node.proxy.port}`;
});

afterAll(async () => {
  await node?.stop();
  await upstream?.close();
});

describe('request pipeline', () => {
  it('renders each verdict and never reaches the upstream for a stopped request', async () => {
    const before = upstream.seen.length;
    const denied = await fetch(`${base}/deny`);
    expect(denied.status).toBe(403);
    expect(await denied.text()).toMatch(/^403 Forbidden\nrequest id: /);
    const limited = await fetch(`${base}/limited`);
    expect([limited.status, limited.headers.get('retry-after'), await limited.text()]).toEqual([429, '7', 'slow down']);
    const redirected = await fetch(`${base}/go`, { redirect: 'manual' });
    expect([redirected.status, redirected.headers.get('location')]).toEqual([302, '/elsewhere']);
    expect((await fetch(`${base}/async`)).status).toBe(451);
    const dropped = await rawRequest(node.proxy.port, 'GET /drop HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(dropped).toMatchObject({ text: '', closed: true });
    expect(upstream.seen.length).toBe(before);
  });

  it('continues after an open plugin throws and answers 503 when a closed one does', async () => {
    expect((await fetch(`${base}/open-failure`)).status).toBe(200);
    const closed = await fetch(`${base}/closed-failure`);
    expect(closed.status).toBe(503);
    expect(await closed.text()).not.toContain('closed hook broke');
  });

  it('lets preProxy edit what goes upstream and onSend edit what comes back', async () => {
    const before = upstream.seen.length;
    const response = await fetch(`${base}/through`);
    expect(response.headers.get('x-seen-by-plugin')).toBe('200');
    expect(upstream.seen[before]?.headers['x-added-by-plugin']).toBe('yes');
  });

  it('lets a plugin replace a header whatever the case of its name, both ways', async () => {
    const before = upstream.seen.length;
    const response = await fetch(`${base}/case`, { headers: { 'x-user': 'client' } });
    expect(response.headers.get('content-type')).toBe('text/x-plugin');
    const names = upstream.seen[before]!.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names.filter((n) => n === 'x-user')).toHaveLength(1);
    expect(upstream.seen[before]!.headers['x-user']).toBe('plugin');
  });

  it('blocks a banned client before any plugin, with DENY_HTTP_STATUS, unless a plugin exempts it', async () => {
    await node.store.bans.add({ target: '198.51.100.0/24', reason: 'test', origin: 'test', durationMs: 60_000 });
    try {
      const banned = await fetch(`${base}/through`, { headers: BANNED_CLIENT });
      expect(banned.status).toBe(403);
      expect((await fetch(`${base}/through`, { headers: { ...BANNED_CLIENT, 'x-exempt': 'yes' } })).status).toBe(200);
      expect(node.store.bans.list().map((b) => b.target)).toEqual(['198.51.100.0/24']);
    } finally {
      await node.store.bans.remove('198.51.100.0/24', 'test');
    }
    expect((await fetch(`${base}/through`, { headers: BANNED_CLIENT })).status).toBe(200);
  });

  it('reads a body only when a plugin asks, inspects its first bytes, refuses on a verdict, and forwards it whole', async () => {
    const post = (path: string, body: string) => fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
    // Not asked for: streamed, never read by the proxy.
    const streamed = await post('/elsewhere', 'evil '.repeat(100));
    expect(streamed.headers.get('x-body-bytes')).toBe('500');
    expect(inspected).toHaveLength(0);
    // Asked for and clean: inspected whole, forwarded whole.
    const clean = await post('/inspect', 'hello world');
    expect(clean.headers.get('x-body-bytes')).toBe('11');
    expect(inspected.at(-1)).toEqual({ text: 'hello world', truncated: false });
    // A verdict refuses it; the upstream never sees it.
    const before = upstream.seen.length;
    expect((await post('/inspect', 'an evil body')).status).toBe(403);
    expect(upstream.seen.length).toBe(before);
    // Past the limit: 413 when the plugin will not inspect a part; with 'partial' the first 64
    // bytes are inspected and the whole body (prefix and rest) is forwarded.
    expect((await post('/inspect', 'x'.repeat(10_000))).status).toBe(413);
    const long = `start${'y'.repeat(200_000)}`;
    const partial = await post('/inspect-partial', long);
    expect(partial.status).toBe(200);
    expect(partial.headers.get('x-body-bytes')).toBe(String(long.length));
    expect(partial.headers.get('x-body-start')).toBe(long.slice(0, 16));
    expect(inspected.at(-1)).toEqual({ text: long.slice(0, 64), truncated: true });
  });

  it('runs onResponse for every request, blocked or proxied, with the outcome', async () => {
    await fetch(`${base}/deny`);
    await fetch(`${base}/after`);
    const deny = await waitFor(() => outcomes.findLast((o) => o.path === '/deny'), 'onResponse for /deny');
    expect(deny.outcome).toMatchObject({ status: 403, verdict: 'deny', reason: 'phases.deny', aborted: false });
    const pass = await waitFor(() => outcomes.findLast((o) => o.path === '/after'), 'onResponse for /after');
    expect(pass.outcome).toMatchObject({ status: 200, verdict: 'pass', aborted: false });
    const ban = outcomes.find((o) => o.outcome.verdict === 'ban');
    expect(ban?.outcome).toMatchObject({ status: 403, reason: 'ban' });
  });

  it('runs every phase for a WebSocket upgrade: the ban gate, onRequest, preProxy, onSend and onResponse with the handshake status', async () => {
    const handshakes: IncomingHttpHeaders[] = [];
    upstream.server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      handshakes.push(req.headers);
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n');
    });
    const handshake = (path: string, extra = ''): Promise<{ text: string }> =>
      rawRequest(
        node.proxy.port,
        `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`,
        2_000,
      );

    const passed = await handshake('/ws');
    expect(passed.text).toMatch(/^HTTP\/1\.1 101 /);
    expect(passed.text.toLowerCase()).toContain('x-seen-by-plugin: 101');
    expect(handshakes.at(-1)?.['x-added-by-plugin']).toBe('yes');
    const pass = await waitFor(() => outcomes.findLast((o) => o.path === '/ws'), 'onResponse for the upgrade');
    expect(pass.outcome).toMatchObject({ status: 101, verdict: 'pass', aborted: false });

    const denied = await handshake('/deny');
    expect(denied.text).toMatch(/^HTTP\/1\.1 403 /);
    const limited = await handshake('/limited');
    expect(limited.text).toMatch(/^HTTP\/1\.1 429 /);
    expect(limited.text.toLowerCase()).toContain('retry-after: 7');
    const before = handshakes.length;
    await node.store.bans.add({ target: '198.51.100.0/24', reason: 'test', origin: 'test', durationMs: 60_000 });
    try {
      expect((await handshake('/ws-banned', 'X-Forwarded-For: 198.51.100.7\r\n')).text).toMatch(/^HTTP\/1\.1 403 /);
    } finally {
      await node.store.bans.remove('198.51.100.0/24', 'test');
    }
    expect(handshakes.length).toBe(before);
    const ban = await waitFor(() => outcomes.findLast((o) => o.path === '/ws-banned'), 'onResponse for the banned upgrade');
    expect(ban.outcome).toMatchObject({ status: 403, verdict: 'ban' });
    const closed = await handshake('/closed-failure');
    expect(closed.text).toMatch(/^HTTP\/1\.1 503 /);
  });

  it('counts requests and blocks by reason on /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${node.admin.port}/metrics`)).text();
    expect(text).toMatch(/palisade_blocked_requests_total\{reason="phases\.deny",node="pipeline"\} [1-9]/);
    expect(text).toMatch(/palisade_blocked_requests_total\{reason="ban",node="pipeline"\} [1-9]/);
    expect(text).toMatch(/palisade_http_requests_total\{code_class="5xx",verdict="error",node="pipeline"\} [1-9]/);
  });
});
