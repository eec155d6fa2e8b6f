import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPalisade, type PalisadeProcess } from '../helpers/palisade.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

/**
 * SECURITY_MODE=detect: the ban gate and every plugin decide as usual, nothing is refused,
 * and the access line and the metrics say what would have been done. Bans are still made.
 */
const TOKEN = 'detect-mode-admin-token-0123';
let upstream: TestUpstream;
let node: PalisadeProcess;

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    res.writeHead(req.url?.startsWith('/missing') ? 404 : 200, { 'content-type': 'text/plain' });
    res.end('from upstream');
  });
  node = await startPalisade({
    REVERSE_PROXY_HOST: upstream.url,
    ADMIN_TOKEN: TOKEN,
    SECURITY_MODE: 'detect',
    USE_REAL_IP: 'yes',
    REAL_IP_FROM: '127.0.0.1',
    LIMIT_REQ_URL_1: '^/limited',
    LIMIT_REQ_RATE_1: '1r/h',
    BLACKLIST_URI: '^/wp-admin',
    BAD_BEHAVIOR_THRESHOLD: '3',
  });
});

afterAll(async () => {
  await node?.stop();
  await upstream?.close();
});

async function get(ip: string, path: string): Promise<{ status: number; body: string; id: string | null }> {
  const response = await fetch(`${node.proxyUrl}${path}`, { headers: { 'x-forwarded-for': ip } });
  return { status: response.status, body: await response.text(), id: response.headers.get('x-request-id') };
}

async function accessLine(id: string | null): Promise<Record<string, unknown>> {
  return waitFor(() => node.logs.find((line) => line.msg === 'request' && line.reqId === id), 'the access line');
}

describe('SECURITY_MODE=detect', () => {
  it('lets a banned client, a rate-limited client and a blacklisted path through, and says what would have been refused', async () => {
    const banned = await fetch(`${node.adminUrl}/api/bans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ip: '198.51.100.70', duration: '1h', reason: 'trial' }),
    });
    expect(banned.status).toBe(201);
    const asBanned = await get('198.51.100.70', '/');
    expect(asBanned).toMatchObject({ status: 200, body: 'from upstream' });
    expect(await accessLine(asBanned.id)).toMatchObject({ status: 200, verdict: 'detect:ban', reason: 'ban' });

    expect((await get('198.51.100.71', '/limited')).status).toBe(200);
    const overLimit = await get('198.51.100.71', '/limited');
    expect(overLimit).toMatchObject({ status: 200, body: 'from upstream' });
    expect(await accessLine(overLimit.id)).toMatchObject({ verdict: 'detect:respond', reason: 'limit.req' });

    const listed = await get('198.51.100.72', '/wp-admin/setup.php');
    expect(listed).toMatchObject({ status: 200, body: 'from upstream' });
    expect(await accessLine(listed.id)).toMatchObject({ verdict: 'detect:deny', reason: 'blacklist.uri' });

    const metrics = await (await fetch(`${node.adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    for (const reason of ['ban', 'limit.req', 'blacklist.uri'])
      expect(metrics).toMatch(new RegExp(`^palisade_detected_requests_total\\{reason="${reason.replace('.', '\\.')}",node="test-node"\\} [1-9]`, 'm'));
    // Nothing was stopped.
    expect(metrics).not.toMatch(/^palisade_blocked_requests_total\{/m);
  });

  it('still makes bans (shared and audited), so switching to block is instant', async () => {
    for (let i = 0; i < 3; i++) expect((await get('198.51.100.73', `/missing/${i}`)).status).toBe(404);
    const audit = await waitFor(async () => {
      const entries = (
        (await (await fetch(`${node.adminUrl}/api/audit`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
          entries: Array<{ target: string; actor: string }>;
        }
      ).entries;
      return entries.find((e) => e.target === '198.51.100.73');
    }, 'the bad-behaviour ban in the audit');
    expect(audit.actor).toBe('bad-behavior');
    const after = await get('198.51.100.73', '/');
    expect(after.status).toBe(200);
    expect(await accessLine(after.id)).toMatchObject({ verdict: 'detect:ban', reason: 'ban' });
  });
});
