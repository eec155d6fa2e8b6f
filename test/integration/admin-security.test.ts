import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { clusterNodeEnv } from '../helpers/cluster.js';
import { startPalisade, type PalisadeProcess } from '../helpers/palisade.js';
import { startRedis, stopAllRedis } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

/**
 * The admin surface against forgery: a page on another loopback port (same site, another
 * origin) cannot make a signed-in browser change anything; the sign-in cookie alone never
 * authorises the JSON API; signing out ends the session on every node.
 */
const TOKEN = 'admin-security-token-0123456';
let upstream: TestUpstream;
let a: PalisadeProcess;
let b: PalisadeProcess;
let browser: Browser;
let evil: http.Server;
let evilUrl: string;
let redisPort: number;

beforeAll(async () => {
  upstream = await startUpstream();
  const redis = await startRedis();
  redisPort = redis.port;
  const env = (name: string): Record<string, string> => clusterNodeEnv(name, upstream.url, redis.port, { ADMIN_TOKEN: TOKEN });
  [a, b] = [await startPalisade(env('sec-a')), await startPalisade(env('sec-b'))];
  browser = await launchChromium();
  // The attacker's page: another port of the same host, posting a form to the admin API.
  evil = http.createServer((req, res) => {
    const target = new URL(req.url ?? '/', 'http://x').searchParams.get('target') ?? '';
    const action = `${a.adminUrl}${target}`;
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><html><body>
<form id="f" method="post" action="${action}" enctype="text/plain">
<input name='{"ip":"203.0.113.66","duration":"1h","reason":"forged","x":"' value='"}'>
</form>
<script>document.getElementById('f').submit();</script></body></html>`);
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => evil?.close(resolve));
  await Promise.all([a?.stop(), b?.stop()]);
  await stopAllRedis();
  await upstream?.close();
});

/** Signs in with the page's form; returns the cookie pair and the page's CSRF value. */
async function signIn(node: PalisadeProcess): Promise<{ cookie: string; csrf: string }> {
  const response = await fetch(`${node.adminUrl}/bans/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${encodeURIComponent(TOKEN)}`,
    redirect: 'manual',
  });
  expect(response.status).toBe(303);
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0]!;
  expect(cookie).toMatch(/^palisade_admin=adm_[A-Za-z0-9_-]{43}$/);
  const page = await (await fetch(`${node.adminUrl}/bans`, { headers: { cookie } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
  expect(csrf).toBeDefined();
  return { cookie, csrf: csrf! };
}

async function bansOn(node: PalisadeProcess, ip: string): Promise<unknown[]> {
  const listed = (await (await fetch(`${node.adminUrl}/api/bans?ip=${ip}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { bans: unknown[] };
  return listed.bans;
}

describe('admin API against cross-site forgery', () => {
  it('creates nothing when a page on another loopback port makes a signed-in Chromium post to the API', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${a.adminUrl}/bans`);
      await page.fill('input[name="token"]', TOKEN);
      await page.click('button[type="submit"]');
      await page.waitForSelector('#bans');
      const refusals: number[] = [];
      page.on('response', (response) => {
        if (response.url().startsWith(a.adminUrl)) refusals.push(response.status());
      });
      for (const target of ['/api/bans', '/api/bans/import', '/bans/add']) {
        await page.goto(`${evilUrl}/?target=${encodeURIComponent(target)}`);
        await page.waitForURL((url) => url.href.startsWith(a.adminUrl), { timeout: 10_000 });
      }
      expect(refusals.length).toBeGreaterThanOrEqual(3);
      expect(refusals.every((status) => status === 403 || status === 303)).toBe(true);
      expect(await bansOn(a, '203.0.113.66')).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('refuses the cookie without the CSRF value (403), takes it with X-CSRF-Token, and the bearer header (201)', async () => {
    const { cookie, csrf } = await signIn(a);
    const body = JSON.stringify({ ip: '203.0.113.67', duration: '1h', reason: 'cookie only' });
    const withCookie = await fetch(`${a.adminUrl}/api/bans`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body });
    expect(withCookie.status).toBe(403);
    expect(await withCookie.json()).toMatchObject({ code: 'PAL_ADMIN_CSRF' });
    const plain = await fetch(`${a.adminUrl}/api/bans`, { method: 'POST', headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'text/plain' }, body });
    expect(plain.status).toBe(415);
    const lifted = await fetch(`${a.adminUrl}/api/bans/203.0.113.67`, { method: 'DELETE', headers: { cookie } });
    expect(lifted.status).toBe(403);
    expect(await bansOn(a, '203.0.113.67')).toEqual([]);

    const proven = await fetch(`${a.adminUrl}/api/bans`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json', origin: a.adminUrl },
      body,
    });
    expect(proven.status).toBe(201);
    const bearer = await fetch(`${a.adminUrl}/api/bans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ip: '203.0.113.68', duration: '1h', reason: 'script' }),
    });
    expect(bearer.status).toBe(201);
  });

  it('ends a session on every node at sign-out: a cookie copied before gets 401 on both', async () => {
    const { cookie, csrf } = await signIn(a);
    for (const node of [a, b]) expect((await fetch(`${node.adminUrl}/api/bans`, { headers: { cookie } })).status).toBe(200);
    const out = await fetch(`${a.adminUrl}/bans/logout`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: `csrf=${encodeURIComponent(csrf)}`,
      redirect: 'manual',
    });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/^palisade_admin=; .*Max-Age=0/);
    for (const node of [a, b]) expect((await fetch(`${node.adminUrl}/api/bans`, { headers: { cookie } })).status).toBe(401);
  });

  it('answers an open (token-less) admin only under its own loopback name, and never inside a frame', async () => {
    const open = await startPalisade({ REVERSE_PROXY_HOST: upstream.url });
    try {
      const port = Number(new URL(open.adminUrl).port);
      // fetch() cannot set Host; a browser after DNS rebinding sends the attacker's name.
      const asHost = (host: string): Promise<{ status: number; body: string }> =>
        new Promise((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path: '/api/bans', headers: { host } }, (res) => {
              let body = '';
              res.on('data', (chunk: Buffer) => (body += chunk.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            })
            .on('error', reject);
        });
      const rebound = await asHost(`evil.example:${port}`);
      expect(rebound.status).toBe(403);
      expect(JSON.parse(rebound.body)).toMatchObject({ code: 'PAL_ADMIN_CSRF' });
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) expect((await asHost(host)).status).toBe(200);
      const page = await fetch(`${open.adminUrl}/bans`);
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/);
    } finally {
      await open.stop();
    }
  });

  it('refuses a session opened with a token the node no longer has', async () => {
    const { cookie } = await signIn(a);
    const rotated = await startPalisade(clusterNodeEnv('sec-c', upstream.url, redisPort, { ADMIN_TOKEN: 'a-new-admin-token-9876543210' }));
    try {
      expect((await fetch(`${rotated.adminUrl}/api/bans`, { headers: { cookie } })).status).toBe(401);
    } finally {
      await rotated.stop();
    }
  });
});
