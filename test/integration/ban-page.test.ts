import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { startPalisade, type PalisadeProcess } from '../helpers/palisade.js';
import { rawRequest } from '../helpers/raw-http.js';
import { clusterNodeEnv } from '../helpers/cluster.js';
import { startRedis, stopAllRedis } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'ban-page-admin-token-0123456';
const CAROL = 'ban-page-carol-token-0123456';
let upstream: TestUpstream;
let a: PalisadeProcess;
let b: PalisadeProcess;
let browser: Browser;

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    res.writeHead(req.url?.startsWith('/missing') ? 404 : 200);
    res.end();
  });
  const redis = await startRedis();
  const env = (name: string): Record<string, string> =>
    clusterNodeEnv(name, upstream.url, redis.port, {
      ADMIN_TOKENS: `dave:operator:${TOKEN},carol:operator:${CAROL}`,
      USE_LIMIT_REQ: 'no',
    });
  [a, b] = [await startPalisade(env('page-a')), await startPalisade(env('page-b'))];
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([a?.stop(), b?.stop()]);
  await stopAllRedis();
  await upstream?.close();
});

async function banViaApi(node: PalisadeProcess, ip: string, reason: string): Promise<void> {
  const response = await fetch(`${node.adminUrl}/api/bans`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CAROL}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ip, duration: '2h', reason }),
  });
  expect(response.status).toBe(201);
}

describe('ban review page in headless Chromium', () => {
  it('signs in, filters, lifts a ban and shows it gone and audited; attacker text stays text', async () => {
    // Bans made on node B: one by hand with a script in its reason, one by bad behaviour
    // whose evidence holds a script in the requested path.
    await banViaApi(b, '203.0.113.21', '<script>window.pwned=1</script>');
    await banViaApi(b, '203.0.113.22', 'scraper');
    const port = Number(new URL(b.proxyUrl).port);
    for (let i = 0; i < 10; i++) {
      await rawRequest(port, `GET /missing/<script>window.pwned=2</script> HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.33\r\nConnection: close\r\n\r\n`);
    }
    await waitFor(async () => {
      const listed = (await (await fetch(`${a.adminUrl}/api/bans`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { bans: unknown[] };
      return listed.bans.length >= 3;
    }, 'the bans on node A');

    const page = await browser.newPage();
    const blocked: string[] = [];
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) blocked.push(message.text());
    });
    await page.goto(`${a.adminUrl}/bans`);
    // The page's own style is allowed by its hash (nothing else may load or run).
    expect(
      await page
        .locator('body')
        .evaluate((body) => (globalThis as unknown as { getComputedStyle(e: unknown): { marginTop: string } }).getComputedStyle(body).marginTop),
    ).toBe('24px');
    await page.fill('input[name=token]', 'wrong-token-wrong-token');
    await page.click('button[type=submit]');
    expect(await page.textContent('.msg')).toBe('Wrong token.');
    await page.fill('input[name=token]', TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('#bans');
    expect(await page.locator('#bans tbody tr').count()).toBeGreaterThanOrEqual(3);

    expect(blocked).toEqual([]);
    // Attacker-supplied text is shown, not run.
    expect(await page.locator('#bans').textContent()).toContain('<script>window.pwned=1</script>');
    await page.locator('#bans tr', { hasText: '198.51.100.33' }).locator('summary').click();
    expect(await page.locator('#bans tr', { hasText: '198.51.100.33' }).locator('pre').textContent()).toContain('<script>window.pwned=2</script>');
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();

    // Filter down to one address.
    await page.fill('input[name=ip]', '203.0.113.22');
    await page.click('form:has(input[name=ip]) button[type=submit]');
    await page.waitForURL(/ip=203\.0\.113\.22/);
    expect(await page.locator('#bans tbody tr').count()).toBe(1);

    // Lift it: gone from the list, gone from node B's gate, and in the audit trail.
    await page.click('button[aria-label="Lift 203.0.113.22"]');
    await page.waitForURL(/msg=/);
    expect(await page.textContent('.msg')).toBe('Lifted 203.0.113.22.');
    expect(await page.locator('#bans').textContent()).not.toContain('203.0.113.22');
    expect(await page.locator('#audit tbody tr', { hasText: '203.0.113.22' }).first().textContent()).toMatch(/dave.*page-a.*unban.*203\.0\.113\.22.*scraper/);
    await waitFor(async () => {
      const response = await fetch(`${b.proxyUrl}/`, { headers: { 'x-forwarded-for': '203.0.113.22' } });
      return response.status === 200;
    }, 'the lift on node B');

    // Add a ban from the page.
    await page.goto(`${a.adminUrl}/bans`);
    await page.fill('form[action="/bans/add"] input[name=ip]', '203.0.113.0/28');
    await page.fill('form[action="/bans/add"] input[name=reason]', 'added in the browser');
    await page.click('form[action="/bans/add"] button');
    expect(await page.textContent('.msg')).toBe('Banned 203.0.113.0/28.');
    await page.close();
  });

  it('refuses a form without the CSRF value and a page without sign-in', async () => {
    const anonymous = await fetch(`${a.adminUrl}/bans`);
    expect(anonymous.status).toBe(200);
    expect(await anonymous.text()).toContain('name="token"');
    const forged = await fetch(`${a.adminUrl}/bans/lift`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'ip=203.0.113.21',
      redirect: 'manual',
    });
    expect(forged.status).toBe(303);
    expect(forged.headers.get('location')).toContain('err=');
    const still = (await (await fetch(`${a.adminUrl}/api/bans?ip=203.0.113.21`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
      bans: unknown[];
    };
    expect(still.bans).toHaveLength(1);
  });
});
