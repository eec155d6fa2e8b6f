import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPalisade, type PalisadeProcess } from '../helpers/palisade.js';
import { rawRequest } from '../helpers/raw-http.js';
import { makeTestPki } from '../helpers/tls.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

/** 8 MiB: far more than any socket buffer, so the client's pace governs the upstream read. */
const BIG = randomBytes(8 * 1024 * 1024);
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

let upstream: TestUpstream;
let node: PalisadeProcess;
let port: number;
/** Bodies the upstream received, by path. */
const received = new Map<string, { body: Buffer; headers: http.IncomingHttpHeaders }>();

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.set(req.url ?? '', { body: Buffer.concat(chunks), headers: req.headers });
      switch (req.url) {
        case '/big':
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG.length });
          res.end(BIG);
          return;
        case '/streamed':
          // No length: chunked to HTTP/1.1 clients, close-delimited to HTTP/1.0 ones.
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('part one, ');
          setImmediate(() => res.end('part two'));
          return;
        case '/cookies':
          res.writeHead(
            200,
            [
              ['set-cookie', 'a=1; Path=/'],
              ['set-cookie', 'b=2; Path=/'],
              ['content-length', '2'],
            ].flat(),
          );
          res.end('ok');
          return;
        case '/no-content':
          res.writeHead(204);
          res.end();
          return;
        case '/reset':
          res.writeHead(200, { 'content-length': '1000' });
          res.write('only part of it');
          setImmediate(() => res.socket?.destroy());
          return;
        default:
          res.writeHead(200, { 'content-type': 'text/plain', 'x-echo-length': String(Buffer.concat(chunks).length) });
          res.end(req.method === 'HEAD' ? undefined : `seen ${req.method} ${req.url}`);
      }
    });
  });
  node = await startPalisade({ REVERSE_PROXY_HOST: upstream.url, USE_REAL_IP: 'no', USE_BAD_BEHAVIOR: 'no', USE_LIMIT_REQ: 'no' });
  port = Number(new URL(node.proxyUrl).port);
});

afterAll(async () => {
  await node?.stop();
  await upstream?.close();
});

/** A request through Node's client; resolves with status, headers and the whole body. */
function request(
  path: string,
  options: http.RequestOptions = {},
  body?: Buffer | string[],
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, ...options }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (Array.isArray(body)) {
      // Written in pieces without a length: a chunked request body.
      for (const piece of body) req.write(piece);
      req.end();
    } else req.end(body);
  });
}

describe('forwarding bodies and framing', () => {
  it('forwards request bodies with a length, chunked, and after Expect: 100-continue', async () => {
    const sized = await request('/sized', { method: 'POST', headers: { 'content-type': 'application/json' } }, Buffer.from('{"a":1}'));
    expect(sized.body.toString()).toBe('seen POST /sized');
    expect(received.get('/sized')?.body.toString()).toBe('{"a":1}');

    const chunked = await request('/chunked', { method: 'PUT' }, ['one,', 'two,', 'three']);
    expect(chunked.status).toBe(200);
    expect(received.get('/chunked')?.body.toString()).toBe('one,two,three');

    const expectReply = await rawRequest(
      port,
      'POST /expect HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nhello',
    );
    expect(expectReply.text).toMatch(/HTTP\/1\.1 200 OK/);
    expect(received.get('/expect')?.body.toString()).toBe('hello');
    expect(received.get('/expect')?.headers.expect).toBeUndefined();
  });

  it('streams a large answer intact to a slow reader', async () => {
    const body = await new Promise<Buffer>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/big' }, (res) => {
          const chunks: Buffer[] = [];
          // Read in bursts with pauses: the proxy must hold back, not buffer or drop.
          let paused = 0;
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            if (paused++ % 16 === 0) {
              res.pause();
              setTimeout(() => res.resume(), 5);
            }
          });
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', reject);
        })
        .on('error', reject);
    });
    expect(body.length).toBe(BIG.length);
    expect(sha256(body)).toBe(sha256(BIG));
  });

  it('frames an answer without a length for HTTP/1.1 (chunked) and HTTP/1.0 (close) clients', async () => {
    const modern = await rawRequest(port, 'GET /streamed HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n');
    expect(modern.text).toMatch(/transfer-encoding: chunked/i);
    expect(modern.text).toMatch(/part one, .*\r\n.*part two/s);
    const legacy = await rawRequest(port, 'GET /streamed HTTP/1.0\r\nHost: app.test\r\n\r\n');
    expect(legacy.text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(legacy.text).not.toMatch(/transfer-encoding/i);
    expect(legacy.text).toMatch(/connection: close/i);
    expect(legacy.text.endsWith('part one, part two')).toBe(true);
    expect(legacy.closed).toBe(true);
  });

  it('keeps repeated Set-Cookie headers apart, answers HEAD and 204 without a body', async () => {
    const cookies = await request('/cookies');
    expect(cookies.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    const head = await request('/head', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    // The upstream connection outlives a HEAD (undici would ask to close it).
    expect(received.get('/head')?.headers.connection).toBe('keep-alive');
    const empty = await request('/no-content', { method: 'DELETE' });
    expect(empty.status).toBe(204);
    expect(empty.body.length).toBe(0);
  });

  it('cuts the client connection when the upstream dies in the middle of an answer', async () => {
    const reply = await rawRequest(port, 'GET /reset HTTP/1.1\r\nHost: app.test\r\n\r\n');
    expect(reply.text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(reply.text).toContain('only part of it');
    expect(reply.closed).toBe(true);
    await waitFor(() => node.logs.find((l) => l.code === 'PAL_UPSTREAM_UNREACHABLE'), 'the upstream failure in the log');
  });

  it("puts the upstream URL's path in front of every request path, by either path", async () => {
    const based = await startPalisade({ REVERSE_PROXY_HOST: `${upstream.url}/base/`, USE_LIMIT_REQ: 'no' });
    try {
      expect(await (await fetch(`${based.proxyUrl}/x?q=1`)).text()).toBe('seen GET /base/x?q=1');
      expect(await (await fetch(`${based.proxyUrl}/y`, { method: 'POST', body: 'b' })).text()).toBe('seen POST /base/y');
    } finally {
      await based.stop();
    }
  });

  it('refuses the asterisk-form request target with 400', async () => {
    const reply = await rawRequest(port, 'OPTIONS * HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n');
    expect(reply.text).toMatch(/^HTTP\/1\.1 400 /);
  });
});

describe('an upstream that sends 100 Continue unasked', () => {
  it('still delivers its final answer to a request with a body', async () => {
    // RFC 9110 lets a server send 1xx answers a client did not ask for; some do on every POST.
    const server = net.createServer((socket) => {
      let seen = '';
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.toString('latin1');
        if (!seen.includes('\r\n\r\n') || !seen.endsWith('hello')) return;
        socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nposted!');
        socket.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = await startPalisade({ REVERSE_PROXY_HOST: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    try {
      const reply = await fetch(`${proxy.proxyUrl}/form`, { method: 'POST', body: 'hello' });
      expect(reply.status).toBe(200);
      expect(await reply.text()).toBe('posted!');
    } finally {
      await proxy.stop();
      server.close();
    }
  });
});

describe('an HTTPS upstream', () => {
  it('verifies its certificate against the trusted CAs and forwards over TLS', async () => {
    const pki = makeTestPki();
    const server = https.createServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`tls ${req.url}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const trusting = await startPalisade({ REVERSE_PROXY_HOST: origin, NODE_EXTRA_CA_CERTS: pki.ca });
    const untrusting = await startPalisade({ REVERSE_PROXY_HOST: origin });
    try {
      const ok = await fetch(`${trusting.proxyUrl}/secure`);
      expect(await ok.text()).toBe('tls /secure');
      const refused = await fetch(`${untrusting.proxyUrl}/secure`);
      expect(refused.status).toBe(502);
    } finally {
      await trusting.stop();
      await untrusting.stop();
      server.closeAllConnections();
      server.close();
    }
  });
});
