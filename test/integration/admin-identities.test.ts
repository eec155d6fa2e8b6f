import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Explanation } from '../../src/admin/explain.js';
import { clusterNodeEnv, readyOnSharedStore } from '../helpers/cluster.js';
import { requestAs, startInProcessNode, type InProcessNode } from '../helpers/in-process.js';
import { runCli } from '../helpers/palisade.js';
import { startRedis, stopAllRedis } from '../helpers/redis.js';
import { stopAfterEach } from '../helpers/stop-after-each.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const OLGA = 'olga-operator-token-0123456789';
const VIC = 'vic-viewer-token-0123456789ab';
const TOKENS = `olga:operator:${OLGA},vic:viewer:${VIC}`;

let upstream: TestUpstream;
const nodes = stopAfterEach<InProcessNode>();

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await stopAllRedis();
  await upstream.close();
});

interface Answer {
  status: number;
  json: Record<string, unknown>;
}

async function call(node: InProcessNode, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
  const response = await fetch(`${node.adminUrl}${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const as = (token: string) => ({ authorization: `Bearer ${token}` });
type Entry = { action: string; actor: string; target: string; node: string; detail?: string };
const auditOf = async (node: InProcessNode): Promise<Entry[]> => (await call(node, 'GET', '/api/audit?limit=200', as(OLGA))).json.entries as Entry[];

describe('admin identities and roles (two nodes, Redis)', () => {
  it('lets a viewer read but not lift (403, audited); names the operator as actor on the other node; believes the auth proxy only from its own address', async () => {
    const redis = await startRedis();
    // A trusts the proxy at 10.0.0.0/8 (not the test); B trusts 127.0.0.1: the test is its proxy.
    const a = await startInProcessNode(
      clusterNodeEnv('id-a', upstream.url, redis.port, {
        ADMIN_TOKENS: TOKENS,
        ADMIN_AUTH_PROXY_FROM: '10.0.0.0/8',
        ADMIN_AUTH_PROXY_ROLES: 'group:secops=operator',
        LIMIT_REQ_RATE: '2r/h',
      }),
    );
    const b = await startInProcessNode(
      clusterNodeEnv('id-b', upstream.url, redis.port, {
        ADMIN_TOKENS: TOKENS,
        ADMIN_AUTH_PROXY_FROM: '127.0.0.1/32',
        ADMIN_AUTH_PROXY_ROLES: 'group:secops=operator,*=viewer',
        LIMIT_REQ_RATE: '2r/h',
      }),
    );
    nodes.push(a, b);
    await waitFor(async () => (await Promise.all(nodes.map(readyOnSharedStore))).every(Boolean), 'both nodes ready on the shared store (/readyz)');

    // The operator bans on A: B's audit trail names her, not a header.
    const banned = await call(
      a,
      'POST',
      '/api/bans',
      { ...as(OLGA), 'x-actor': 'somebody-else' },
      { ip: '203.0.113.40', duration: '1h', reason: 'credential stuffing' },
    );
    expect(banned.status).toBe(201);
    expect(banned.json.actor).toBe('olga');
    await waitFor(
      async () => (await auditOf(b)).some((e) => e.action === 'ban' && e.target === '203.0.113.40' && e.actor === 'olga' && e.node === 'id-a'),
      "olga's ban in B's audit trail",
    );

    // The viewer reads, and may not lift: 403 naming the role, audited on the cluster's trail.
    const listed = await call(b, 'GET', '/api/bans', as(VIC));
    expect(listed.status).toBe(200);
    expect((listed.json.bans as Array<{ ip: string }>).map((ban) => ban.ip)).toContain('203.0.113.40');
    const lift = await call(b, 'DELETE', '/api/bans/203.0.113.40', as(VIC));
    expect(lift.status).toBe(403);
    expect(lift.json).toMatchObject({ code: 'PAL_ADMIN_FORBIDDEN' });
    expect(String(lift.json.error)).toContain('vic is a viewer');
    expect((await call(b, 'POST', '/api/reload', as(VIC))).status).toBe(403);
    expect(b.store.bans.match('203.0.113.40')).toBeDefined();
    await waitFor(
      async () => (await auditOf(a)).some((e) => e.action === 'refused' && e.actor === 'vic' && e.target === '203.0.113.40' && e.node === 'id-b'),
      "vic's refused lift in A's audit trail",
    );

    // Explain on B reads the shared rate counter the client used up on A (Redis's clock).
    for (let i = 0; i < 3; i++) await requestAs(a, '203.0.113.90');
    const limited = (await call(b, 'GET', '/api/explain?ip=203.0.113.90', as(VIC))).json as unknown as Explanation;
    expect(limited.verdict).toMatchObject({ action: 'refuse', status: 429 });
    expect(limited.findings).toContainEqual(
      expect.objectContaining({ plugin: 'limit', effect: 'limit', detail: expect.stringMatching(/allowed again in \d+ s/) }),
    );
    const unused = (await call(b, 'GET', '/api/explain?ip=203.0.113.91', as(VIC))).json as unknown as Explanation;
    expect(unused.findings).toContainEqual(
      expect.objectContaining({ plugin: 'limit', effect: 'watch', detail: expect.stringContaining('2 of 2 requests left') }),
    );

    // The auth proxy's headers from a peer that is not the proxy: nobody.
    const spoofed = await call(a, 'GET', '/api/bans', { 'x-forwarded-email': 'mallory@example.com', 'x-forwarded-groups': 'secops' });
    expect(spoofed.status).toBe(401);
    // From the proxy: the user, with the role of their group, and a CSRF value to change anything.
    const proxied = { 'x-forwarded-email': 'sam@example.com', 'x-forwarded-groups': 'staff, secops' };
    const page = await (await fetch(`${b.adminUrl}/bans`, { headers: proxied })).text();
    expect(page).toContain('<strong id="identity">sam@example.com</strong> (<span id="role">operator</span>)');
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    expect((await call(b, 'POST', '/api/bans', proxied, { ip: '203.0.113.41', duration: '1h', reason: 'sso' })).status).toBe(403); // no CSRF value
    const bySam = await call(b, 'POST', '/api/bans', { ...proxied, 'x-csrf-token': csrf }, { ip: '203.0.113.41', duration: '1h', reason: 'sso' });
    expect(bySam.status).toBe(201);
    expect(bySam.json.actor).toBe('sam@example.com');
    await waitFor(
      async () => (await auditOf(a)).some((e) => e.action === 'ban' && e.target === '203.0.113.41' && e.actor === 'sam@example.com'),
      "sam's ban in A's audit trail",
    );
    // Someone outside the group is a viewer there ('*=viewer').
    const reader = { 'x-forwarded-email': 'rita@example.com' };
    expect((await call(b, 'GET', '/api/bans', reader)).status).toBe(200);
    expect((await call(b, 'DELETE', '/api/bans/203.0.113.41', { ...reader, 'x-csrf-token': csrf })).status).toBe(403); // not rita's CSRF value
    const ritasPage = await (await fetch(`${b.adminUrl}/bans`, { headers: reader })).text();
    const ritasCsrf = /<meta name="csrf-token" content="([^"]+)">/.exec(ritasPage)![1]!;
    const refusedLift = await call(b, 'DELETE', '/api/bans/203.0.113.41', { ...reader, 'x-csrf-token': ritasCsrf });
    expect(refusedLift.json).toMatchObject({ code: 'PAL_ADMIN_FORBIDDEN' });
    // A bearer token the node does not know, from the proxy (its user's own token passed along): the proxy's user.
    expect((await call(b, 'GET', '/api/bans', { ...reader, authorization: 'Bearer someone-elses-oidc-token' })).status).toBe(200);
  });
});

describe('explain: why is this client blocked?', () => {
  it('names the /24 ban, the rate limit, and the whitelist rule behind each verdict; viewers may ask; so may the CLI', async () => {
    const node = await startInProcessNode({
      NODE_NAME: 'explain',
      REVERSE_PROXY_HOST: upstream.url,
      USE_REAL_IP: 'yes',
      REAL_IP_FROM: '127.0.0.1',
      ADMIN_TOKENS: TOKENS,
      LIMIT_REQ_RATE: '2r/h',
      WHITELIST_IP: '192.0.2.50',
    });
    nodes.push(node);
    expect((await call(node, 'POST', '/api/bans', as(OLGA), { ip: '198.51.100.0/24', duration: '1h', reason: 'botnet range' })).status).toBe(201);
    for (let i = 0; i < 3; i++) await requestAs(node, '203.0.113.80');
    for (let i = 0; i < 3; i++) expect(await requestAs(node, '192.0.2.50')).toBe(200);
    const explain = async (ip: string): Promise<Explanation> => {
      const answer = await call(node, 'GET', `/api/explain?ip=${encodeURIComponent(ip)}`, as(VIC));
      expect(answer.status).toBe(200);
      return answer.json as unknown as Explanation;
    };

    const covered = await explain('198.51.100.23');
    expect(covered.verdict).toMatchObject({ action: 'refuse', status: 403 });
    expect(covered.verdict.because).toContain('198.51.100.0/24 covers 198.51.100.23');
    expect(covered.bans).toEqual([expect.objectContaining({ ip: '198.51.100.0/24', reason: 'botnet range', origin: 'api', actor: 'olga', applies: true })]);

    const limited = await explain('203.0.113.80');
    expect(limited.verdict).toMatchObject({ action: 'refuse', status: 429 });
    expect(limited.findings).toContainEqual(expect.objectContaining({ plugin: 'limit', rule: 'LIMIT_REQ_RATE', effect: 'limit', applies: true }));
    expect(limited.bans).toEqual([]);

    const whitelisted = await explain('192.0.2.50');
    expect(whitelisted.verdict.action).toBe('pass');
    expect(whitelisted.exempt).toBe(true);
    expect(whitelisted.verdict.because).toContain('whitelist: WHITELIST_IP');
    expect(whitelisted.findings).toContainEqual(expect.objectContaining({ plugin: 'whitelist', rule: 'WHITELIST_IP', effect: 'exempt' }));
    expect(whitelisted.findings.find((f) => f.plugin === 'limit')?.applies).toBe(false);

    const fresh = await explain('203.0.113.99');
    expect(fresh.verdict.action).toBe('pass');
    expect(fresh.findings).toContainEqual(
      expect.objectContaining({ plugin: 'limit', effect: 'watch', detail: expect.stringContaining('2 of 2 requests left') }),
    );
    const proxy = await explain('127.0.0.1');
    expect(proxy.infrastructure).toEqual({ loopback: true, trustedProxy: true });

    expect((await call(node, 'GET', '/api/explain?ip=not-an-ip', as(VIC))).json).toMatchObject({ code: 'PAL_BAD_REQUEST' });
    // Asking changes nothing: the client that was never seen still has its whole budget.
    expect(await requestAs(node, '203.0.113.99')).toBe(200);
    expect(await requestAs(node, '203.0.113.99')).toBe(200);

    const cli = await runCli(['explain', '198.51.100.23'], { PALISADE_ADMIN_URL: node.adminUrl, PALISADE_ADMIN_TOKEN: VIC });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/^198\.51\.100\.23 on explain: REFUSE 403 — banned: 198\.51\.100\.0\/24 covers 198\.51\.100\.23/);
    expect(cli.stdout).toMatch(/^198\.51\.100\.0\/24 +botnet range +api +olga/m);
  });

  it("keys the auth proxy users' CSRF values by a secret of the node when SESSIONS_SECRET is left at random, never by the word", async () => {
    const node = await startInProcessNode({
      NODE_NAME: 'csrf-random',
      ADMIN_AUTH_PROXY_FROM: '127.0.0.1/32',
      ADMIN_AUTH_PROXY_ROLES: '*=operator',
      SESSIONS_SECRET: 'random',
    });
    nodes.push(node);
    const user = { 'x-forwarded-email': 'eve@example.com' };
    const page = await (await fetch(`${node.adminUrl}/bans`, { headers: user })).text();
    const given = /<meta name="csrf-token" content="([^"]+)">/.exec(page)![1]!;
    // What anyone could compute when the literal "random" keyed the values:
    const guessed = createHmac('sha256', 'palisade-admin-proxy-csrf:random').update('eve@example.com').digest('base64url');
    expect(given).not.toBe(guessed);
    expect((await call(node, 'POST', '/api/bans', { ...user, 'x-csrf-token': guessed }, { ip: '203.0.113.44', duration: '1h', reason: 'forged' })).status).toBe(
      403,
    );
    expect((await call(node, 'POST', '/api/bans', { ...user, 'x-csrf-token': given }, { ip: '203.0.113.44', duration: '1h', reason: 'her own' })).status).toBe(
      201,
    );
  });
});
