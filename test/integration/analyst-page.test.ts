import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { startInProcessNode, type InProcessNode } from '../helpers/in-process.js';
import { repoRoot } from '../helpers/palisade.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const OPERATOR = 'page-operator-token-0123456789';
const VIEWER = 'page-viewer-token-0123456789ab';

let upstream: TestUpstream;
let node: InProcessNode;
let browser: Browser;

beforeAll(async () => {
  upstream = await startUpstream();
  node = await startInProcessNode({
    NODE_NAME: 'analyst',
    REVERSE_PROXY_HOST: upstream.url,
    ADMIN_TOKENS: `owen:operator:${OPERATOR},vera:viewer:${VIEWER}`,
    LIMIT_REQ_RATE: '30r/m',
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await node?.stop();
  await upstream?.close();
});

/** A seeded set: 9 bans created (one lifted since), from every kind of origin. */
async function seed(): Promise<void> {
  const add = (target: string, reason: string, origin: string, actor: string, durationMs = 3_600_000) =>
    node.store.bans.add({ target, reason, origin, actor, durationMs, evidence: '' }, { waitMs: 0 });
  await add('203.0.113.10', 'scraper', 'api', 'owen');
  await add('203.0.113.11', 'scraper', 'api', 'owen', 7_200_000);
  await add('203.0.113.12', 'credential stuffing', 'api', 'alice');
  await add('198.51.100.0/24', 'bad-behavior', 'bad-behavior', 'bad-behavior');
  await add('198.51.101.7', 'bad-behavior', 'bad-behavior', 'bad-behavior', 0);
  await add('192.0.2.99', 'imported', 'import', 'owen');
  await add('192.0.2.128/25', 'blacklist.url', 'blacklist', 'https://lists.example/bad.txt');
  await add('192.0.2.5', 'blacklist.url', 'blacklist', 'https://lists.example/bad.txt');
  await add('203.0.113.13', '<img src=x onerror=window.pwned=1>', 'api', 'owen');
  await node.store.bans.remove('203.0.113.13', 'owen', { waitMs: 0 });
}

describe('the review page an analyst opens first (headless Chromium)', () => {
  it('shows totals by origin and reason, bans per hour, sortable columns, relative times, filters by actor, explains, and keeps a viewer read-only', async () => {
    await seed();
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    await page.goto(`${node.adminUrl}/bans`);
    await page.fill('input[name=token]', VIEWER);
    await page.click('button[type=submit]');
    await page.waitForSelector('#totals');
    expect(await page.textContent('#identity')).toBe('vera');
    expect(await page.textContent('#role')).toBe('viewer');

    // Totals of the 8 active bans.
    expect(await page.textContent('#total-bans')).toBe('8');
    const byOrigin = async (group: string) => page.textContent(`[data-origin="${group}"]`);
    expect([await byOrigin('automatic'), await byOrigin('API'), await byOrigin('import'), await byOrigin('lists')]).toEqual(['2', '3', '1', '2']);
    const reasons = await page.locator('#totals .card').nth(2).locator('li').allTextContents();
    expect(reasons.slice(0, 3)).toEqual(['2 bad-behavior', '2 blacklist.url', '2 scraper']);

    // Bans per hour: 24 bars; the 9 created (the lifted one and the import too), all in the
    // last hour (or the two last, when the seeding straddled an hour).
    const counts = (await page.locator('#per-hour rect.bar').evaluateAll((bars) => bars.map((bar) => Number(bar.getAttribute('data-count'))))) as number[];
    expect(counts).toHaveLength(24);
    expect(counts[22]! + counts[23]!).toBe(9);
    expect(counts.slice(0, 22).every((count) => count === 0)).toBe(true);

    // Relative times, the exact time on hover.
    const created = page.locator('#bans tbody tr').first().locator('time').first();
    expect(await created.textContent()).toMatch(/^\d+s ago$/);
    expect(await created.getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(await page.locator('#bans tbody tr', { hasText: '198.51.101.7' }).locator('td').nth(6).textContent()).toBe('never');

    // A viewer has no lift button and no add form.
    expect(await page.locator('button', { hasText: 'Lift' }).count()).toBe(0);
    expect(await page.locator('form[action="/bans/add"]').count()).toBe(0);

    // Sort by reason, then filter by actor.
    await page.click('#bans th a:text-is("Reason")');
    await page.waitForURL(/sort=reason/);
    const sortedReasons = await page.locator('#bans tbody tr td:nth-child(2)').allTextContents();
    expect(sortedReasons).toEqual([...sortedReasons].sort());
    await page.fill('input[name=actor]', 'owen');
    await page.click('form:has(input[name=actor]) button[type=submit]');
    await page.waitForURL(/actor=owen/);
    expect((await page.locator('#bans tbody tr td:nth-child(4)').allTextContents()).every((actor) => actor === 'owen')).toBe(true);
    expect(await page.locator('#bans tbody tr').count()).toBe(3);

    // Why is this client blocked?
    await page.fill('input[name=explain]', '198.51.100.23');
    await page.click('form:has(input[name=explain]) button[type=submit]');
    await page.waitForSelector('#explain-answer');
    expect(await page.textContent('#explain-verdict')).toBe('refuse (403)');
    expect(await page.locator('#explain-answer').textContent()).toContain('198.51.100.0/24 covers 198.51.100.23');
    // The lifted ban's reason (an <img onerror>) is text in the audit table, not an element.
    expect(await page.locator('#audit').textContent()).toContain('<img src=x onerror=window.pwned=1>');
    expect(await page.locator('#audit img').count()).toBe(0);

    // The picture in the README (PALISADE_SCREENSHOT=1 writes it there).
    await page.goto(`${node.adminUrl}/bans`);
    const path =
      process.env.PALISADE_SCREENSHOT === '1'
        ? join(repoRoot, 'docs', 'review-page.png')
        : join(mkdtempSync(join(tmpdir(), 'palisade-page-')), 'review-page.png');
    const shot = await page.screenshot({ path, fullPage: true });
    expect(shot.length).toBeGreaterThan(10_000);
    await page.close();
  });

  it("gives an operator the lift button, and refuses a viewer's lift posted by hand (403)", async () => {
    const page = await browser.newPage();
    await page.goto(`${node.adminUrl}/bans`);
    await page.fill('input[name=token]', OPERATOR);
    await page.click('button[type=submit]');
    await page.waitForSelector('#bans');
    expect(await page.textContent('#role')).toBe('operator');
    expect(await page.locator('button[aria-label="Lift 203.0.113.10"]').count()).toBe(1);
    await page.close();
    const refused = await fetch(`${node.adminUrl}/bans/lift`, {
      method: 'POST',
      headers: { authorization: `Bearer ${VIEWER}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'ip=203.0.113.10',
    });
    expect(refused.status).toBe(403);
    expect(node.store.bans.match('203.0.113.10')).toBeDefined();
  });
});
