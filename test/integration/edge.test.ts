import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPalisade, type PalisadeProcess } from '../helpers/palisade.js';
import { rawRequest } from '../helpers/raw-http.js';
import { answeredIfEachWaited, startTraffic } from '../helpers/traffic.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The HTTP edge through the proxy port: Host validation, bodies that stall or trickle,
 * MAX_CLIENT_SIZE. The rate rule's grace is shortened so the suite stays fast; the rule
 * itself is the default's (500 bytes buy a second).
 */
const GRACE_MS = 4_000;
const MIN_RATE = 500;

let upstream: TestUpstream;
let node: PalisadeProcess;
let port: number;
/** What the upstream made of each request: its body's size and digest, or that it was cut. */
const bodies = new Map<string, { bytes: number; sha256: string } | 'aborted'>();

beforeAll(async () => {
  // A realistic upload endpoint: it reads the whole body before it answers.
  upstream = await startUpstream((req, res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      bodies.set(req.url ?? '', { bytes, sha256: hash.digest('hex') });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`got ${bytes}`);
    });
    req.on('aborted', () => bodies.set(req.url ?? '', 'aborted'));
    req.on('error', () => bodies.set(req.url ?? '', 'aborted'));
  });
  node = await startPalisade({
    REVERSE_PROXY_HOST: upstream.url,
    USE_BAD_BEHAVIOR: 'no',
    USE_LIMIT_REQ: 'no',
    CLIENT_BODY_MIN_RATE_GRACE: `${GRACE_MS}ms`,
    CLIENT_BODY_MIN_RATE: String(MIN_RATE),
    CLIENT_BODY_TIMEOUT: '3s',
    MAX_CLIENT_SIZE: '1m',
  });
  port = Number(new URL(node.proxyUrl).port);
});

afterAll(async () => {
  await node?.stop();
  await upstream?.close();
});

describe('Host validation', () => {
  /** Host values that are not `uri-host[:port]`, by class. */
  const invalid: Record<string, string[]> = {
    userinfo: ['user@a.test', 'user:pw@a.test:80'],
    'path, query or fragment': ['a.test/evil', 'a.test?x=1', 'a.test#frag', 'a.test\\evil'],
    'characters outside reg-name': ['a .test', 'a"b.test', '<a.test>', 'a{b}.test', 'a|b.test', 'a^b.test', 'a`b.test'],
    'non-ASCII bytes': ['caf\u00e9.test', '\u00ff'],
    'broken percent-encoding': ['a%zz.test', 'a%4.test', 'a%.test'],
    'bad IPv6 literal': ['::1', '[::1', '::1]', '[::g]', '[::1]x', '[::1]:80:80', '[1.2.3.4]', '[]', '[fe80::1%eth0]', '[fe80::1%25eth0]'],
    'bad port': ['a.test:abc', 'a.test:99999', 'a.test:65536', 'a.test:80:80', 'a.test:-1', 'a.test:+80', 'a.test: 80'],
    'empty host': ['', ':80'],
  };
  for (const [kind, hosts] of Object.entries(invalid)) {
    it(`refuses a Host with ${kind} with 400 before any plugin, and never forwards it`, async () => {
      const before = upstream.seen.length;
      for (const host of hosts) {
        const reply = await rawRequest(port, `GET /host-check HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
        expect(reply.text, `Host: ${host}`).toMatch(/^HTTP\/1\.1 400 /);
      }
      expect(upstream.seen.length).toBe(before);
    });
  }

  it('passes every form of a valid Host', async () => {
    const valid = [
      'a.test',
      'A.Test:8080',
      'a.test:',
      'a.test:000080',
      '127.0.0.1',
      '127.0.0.1:80',
      '[::1]',
      '[::1]:8080',
      '[::ffff:1.2.3.4]',
      '[v1.fe]',
      '[V1.fe]',
      'xn--bcher-kva.example',
      'under_score.test',
      'a%41.test',
      "s!$&'()*+,;=.test",
    ];
    for (const host of valid) {
      const reply = await rawRequest(port, `GET /valid HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      expect(reply.text, `Host: ${host}`).toMatch(/^HTTP\/1\.1 200 /);
      expect(upstream.seen.at(-1)?.headers.host).toBe(host);
    }
  });

  it('takes an absolute-form target naming the Host with its default port', async () => {
    const reply = await rawRequest(port, 'GET http://a.test:80/default-port HTTP/1.1\r\nHost: a.test:80\r\nConnection: close\r\n\r\n');
    expect(reply.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(upstream.seen.at(-1)?.url).toBe('/default-port');
  });

  it('logs a refused Host as a bad request with its code, the connection closed', async () => {
    const reply = await rawRequest(port, 'GET /logged-host HTTP/1.1\r\nHost: user@a.test\r\n\r\n');
    expect(reply.closed).toBe(true);
    const line = await waitFor(() => node.logs.find((l) => l.msg === 'request' && l.path === '/logged-host'), 'the access line');
    expect(line).toMatchObject({ status: 400, verdict: 'error', reason: 'bad_request.host', code: 'PAL_BAD_REQUEST' });
  });
});

/** Opens a connection, sends a POST's headers, then one byte a second until the server closes. */
function trickle(path: string): Promise<{ closedAfterMs: number; answer: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.write(`POST ${path} HTTP/1.1\r\nHost: a.test\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n`);
    const drip = setInterval(() => socket.write('x'), 1_000);
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(drip);
      resolve({ closedAfterMs: Date.now() - started, answer });
    });
  });
}

describe('request bodies', () => {
  it('closes 50 trickling bodies with 408 by the rate rule while other clients keep their latency', async () => {
    const probes = startTraffic(`${node.proxyUrl}/probe`, 2, 30_000);
    const trickled = await probes.answeredWhile(() => Promise.all(Array.from({ length: 50 }, (_, i) => trickle(`/trickle-${i}`))));
    const results = trickled.value;
    const report = await probes.stop();
    for (const result of results) {
      expect(result.answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(result.answer.toLowerCase()).toContain('connection: close');
      // Never before the grace; closed by the rate rule (the reason below), not by the idle
      // timeout, which a byte a second never trips.
      expect(result.closedAfterMs).toBeGreaterThanOrEqual(GRACE_MS - 250);
    }
    expect(report.failed).toBe(0);
    // Trickling bodies that held the event loop or the connections would make each probe wait
    // for them to be cut (the grace at least): the probes answered far more than that allows.
    expect(trickled.answered).toBeGreaterThan(5 * answeredIfEachWaited(2, trickled.ms, GRACE_MS));
    // The upstream never took a cut body for a whole one.
    await waitFor(
      () => [...Array(50).keys()].every((i) => bodies.get(`/trickle-${i}`) !== undefined || !upstream.seen.some((s) => s.url === `/trickle-${i}`)),
      'the upstream to see the cut bodies end',
    );
    for (let i = 0; i < 50; i++) expect(bodies.get(`/trickle-${i}`)).not.toMatchObject({ bytes: 100_000 });
    const line = await waitFor(() => node.logs.find((l) => l.msg === 'request' && l.path === '/trickle-0'), 'the access line');
    expect(line).toMatchObject({ status: 408, verdict: 'error', reason: 'body.too_slow', code: 'PAL_REQUEST_TIMEOUT' });
  });

  it('closes a body that stops arriving after CLIENT_BODY_TIMEOUT', async () => {
    const result = await new Promise<{ closedAfterMs: number; answer: string }>((resolve) => {
      const started = Date.now();
      const socket = net.connect(port, '127.0.0.1');
      let answer = '';
      socket.write('POST /stalled HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10\r\n\r\nabc');
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
      socket.on('close', () => resolve({ closedAfterMs: Date.now() - started, answer }));
    });
    expect(result.answer).toMatch(/^HTTP\/1\.1 408 /);
    // Not before CLIENT_BODY_TIMEOUT (3 s); the reason below says which rule closed it.
    expect(result.closedAfterMs).toBeGreaterThanOrEqual(2_900);
    const line = await waitFor(() => node.logs.find((l) => l.msg === 'request' && l.path === '/stalled'), 'the access line');
    expect(line).toMatchObject({ status: 408, reason: 'body.stalled', code: 'PAL_REQUEST_TIMEOUT' });
  });

  it('passes a 5 MB upload at 1 MB/s whole, past the grace period', async () => {
    const big = await startPalisade({ REVERSE_PROXY_HOST: upstream.url, USE_LIMIT_REQ: 'no', CLIENT_BODY_MIN_RATE_GRACE: '2s', MAX_CLIENT_SIZE: '10m' });
    try {
      const body = randomBytes(5 * 1024 * 1024);
      const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(`${big.proxyUrl}/upload-5mb`, { method: 'POST', headers: { 'content-length': String(body.length) } }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        // 1 MiB a second, in 64 KiB slices.
        let offset = 0;
        const slice = 64 * 1024;
        const timer = setInterval(() => {
          req.write(body.subarray(offset, offset + slice));
          offset += slice;
          if (offset >= body.length) {
            clearInterval(timer);
            req.end();
          }
        }, 1_000 / 16);
      });
      expect(answer).toEqual({ status: 200, text: `got ${body.length}` });
      expect(bodies.get('/upload-5mb')).toEqual({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    } finally {
      await big.stop();
    }
  });
  it('does not hold against the client the time the upstream takes to accept its body', async () => {
    // A quick client, an upstream that reads nothing for longer than CLIENT_BODY_TIMEOUT and
    // the grace: every buffer between them fills, the proxy stops reading, and waits.
    const patient = await startPalisade({
      REVERSE_PROXY_HOST: upstream.url,
      USE_LIMIT_REQ: 'no',
      CLIENT_BODY_TIMEOUT: '1s',
      CLIENT_BODY_MIN_RATE_GRACE: '1s',
      MAX_CLIENT_SIZE: '64m',
    });
    const slowReader = upstream.server.listeners('request')[0] as (req: http.IncomingMessage, res: http.ServerResponse) => void;
    upstream.server.removeAllListeners('request');
    upstream.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (req.url !== '/slow-reader') return slowReader(req, res);
      req.pause();
      setTimeout(() => {
        slowReader(req, res);
        req.resume();
      }, 4_000);
    });
    try {
      const body = randomBytes(32 * 1024 * 1024);
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(`${patient.proxyUrl}/slow-reader`, { method: 'POST', headers: { 'content-length': String(body.length) } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
      expect(status).toBe(200);
      expect(bodies.get('/slow-reader')).toEqual({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    } finally {
      upstream.server.removeAllListeners('request');
      upstream.server.on('request', slowReader);
      await patient.stop();
    }
  });
});

describe('MAX_CLIENT_SIZE', () => {
  it('answers 413 at once to a declared body larger than the limit, without waiting for it or forwarding it', async () => {
    const before = upstream.seen.length;
    const reply = await rawRequest(port, `POST /declared HTTP/1.1\r\nHost: a.test\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\nfirst bytes`, 3_000);
    expect(reply.text).toMatch(/^HTTP\/1\.1 413 /);
    // 413 and closed, not 408: answered without waiting for the body (which never comes).
    expect(reply.closed).toBe(true);
    expect(upstream.seen.length).toBe(before);
    const line = await waitFor(() => node.logs.find((l) => l.msg === 'request' && l.path === '/declared'), 'the access line');
    expect(line).toMatchObject({ status: 413, reason: 'request.too_large', code: 'PAL_BODY_TOO_LARGE' });
  });

  it('answers 413 without 100 Continue when the client waits for one', async () => {
    const reply = await rawRequest(port, `POST /expect HTTP/1.1\r\nHost: a.test\r\nExpect: 100-continue\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`, 3_000);
    expect(reply.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(reply.text).not.toContain('100 Continue');
    const ok = await rawRequest(
      port,
      'POST /expect-ok HTTP/1.1\r\nHost: a.test\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok',
      3_000,
    );
    expect(ok.text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    expect(bodies.get('/expect-ok')).toMatchObject({ bytes: 2 });
  });

  it('answers 413 mid-stream to a chunked body growing past the limit and aborts the upstream request', async () => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.write('POST /chunked-big HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = Buffer.alloc(64 * 1024, 'y');
    // 2 MiB in 64 KiB chunks, as fast as the socket takes them, until the proxy closes.
    for (let i = 0; i < 32 && !socket.destroyed; i++) {
      socket.write(`${chunk.length.toString(16)}\r\n`);
      socket.write(chunk);
      socket.write('\r\n');
      await new Promise((resolve) => setImmediate(resolve));
    }
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    await waitFor(() => bodies.get('/chunked-big'), 'the upstream request to end');
    expect(bodies.get('/chunked-big')).toBe('aborted');
    const line = await waitFor(() => node.logs.find((l) => l.msg === 'request' && l.path === '/chunked-big'), 'the access line');
    expect(line).toMatchObject({ status: 413, reason: 'request.too_large', code: 'PAL_BODY_TOO_LARGE' });
  });

  it('passes a chunked body just under the limit whole', async () => {
    const body = randomBytes(1024 * 1024 - 10);
    const answer = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${node.proxyUrl}/chunked-ok`, { method: 'POST' }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write(body.subarray(0, 500_000));
      req.end(body.subarray(500_000));
    });
    expect(answer).toBe(200);
    expect(bodies.get('/chunked-ok')).toMatchObject({ bytes: body.length });
  });
});
