import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterNodeEnv, startInProcessCluster } from '../helpers/cluster.js';
import { startInProcessNode, type InProcessNode } from '../helpers/in-process.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';
import { stopAfterEach } from '../helpers/stop-after-each.js';
import { unansweredRateChecks } from '../helpers/metrics.js';

let upstream: TestUpstream;
let redis: RedisServer;
const nodes = stopAfterEach<InProcessNode>();

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    res.writeHead(req.url?.startsWith('/missing') ? 404 : 200, { 'content-type': 'text/plain' });
    res.end('upstream');
  });
  redis = await startRedis();
});
afterAll(async () => {
  await stopAllRedis();
  await upstream.close();
});

/** Nodes sharing Redis, trusting 127.0.0.1 to name the client in X-Forwarded-For. */
async function cluster(count: number, env: Record<string, string> = {}): Promise<InProcessNode[]> {
  const names = Array.from({ length: count }, (_, i) => env.NODE_NAME ?? `sec-${i}`);
  const started = await startInProcessCluster(names, upstream.url, redis.port, env);
  nodes.push(...started);
  return started;
}

async function get(node: InProcessNode, ip: string, path = '/'): Promise<Response> {
  const response = await fetch(`${node.url}${path}`, { headers: { 'x-forwarded-for': ip } });
  await response.arrayBuffer();
  return response;
}

describe('bad-behavior', () => {
  it('bans a client on every node after 10 bad statuses split across two nodes, with evidence', async () => {
    const [a, b] = await cluster(2, { USE_LIMIT_REQ: 'no' });
    const ip = '198.51.100.77';
    for (let i = 0; i < 10; i++) expect((await get(i % 2 === 0 ? a! : b!, ip, `/missing/${i}`)).status).toBe(404);
    await waitFor(() => a!.store.bans.match(ip) && b!.store.bans.match(ip), 'the ban on both nodes');
    expect([(await get(a!, ip)).status, (await get(b!, ip)).status]).toEqual([403, 403]);
    const ban = b!.store.bans.get(ip)!;
    expect(ban).toMatchObject({ reason: 'bad-behavior', origin: 'bad-behavior' });
    expect(ban.expiresAt! - ban.createdAt).toBe(86_400_000);
    expect(ban.evidence).toMatch(/GET \/missing\/\d 404/);

    // Lifting the ban clears the count: one more 404 does not ban again.
    await a!.store.bans.remove(ip, 'tester');
    await waitFor(() => !b!.store.bans.match(ip), 'the unban on B');
    await waitFor(async () => (await redis.client().exists(`palisade:bad-behavior:status:${ip}:w`)) === 0, 'the count to be cleared');
    expect((await get(b!, ip, '/missing/again')).status).toBe(404);
    expect((await get(b!, ip)).status).toBe(200);
  });

  it('never bans a whitelisted client, even after 1,000 bad statuses', async () => {
    const [a] = await cluster(1, { USE_LIMIT_REQ: 'no', WHITELIST_IP: '198.51.100.200' });
    for (let i = 0; i < 1_000; i += 50) {
      const statuses = await Promise.all(Array.from({ length: 50 }, (_, j) => get(a!, '198.51.100.200', `/missing/${i + j}`).then((r) => r.status)));
      expect(new Set(statuses)).toEqual(new Set([404]));
    }
    expect(a!.store.bans.match('198.51.100.200')).toBeUndefined();
    expect((await get(a!, '198.51.100.200')).status).toBe(200);
  });
});

describe('limit', () => {
  it('allows 10 of 15 requests alternating between two nodes at 10r/h, then 429 with Retry-After', async () => {
    // Per hour, as every limit test here: no hit is given back while a test runs, however slow.
    const [a, b] = await cluster(2, { LIMIT_REQ_RATE: '10r/h', USE_BAD_BEHAVIOR: 'no' });
    const before = await unansweredRateChecks([a!, b!]);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 15; i++) {
      const response = await get(i % 2 === 0 ? a! : b!, '198.51.100.90');
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get('retry-after');
    }
    // The limit, and one more for each check a node reports unanswered within the request
    // budget (decided there alone; loaded cores can be that slow): a soak run saw 11 once.
    const allowed = statuses.filter((s) => s === 200).length;
    expect(allowed).toBeGreaterThanOrEqual(10);
    expect(allowed).toBeLessThanOrEqual(10 + (await unansweredRateChecks([a!, b!])) - before);
    expect(statuses.slice(0, allowed)).toEqual(Array(allowed).fill(200));
    expect(statuses.slice(allowed)).toEqual(Array(15 - allowed).fill(429));
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    // One hit back every 6 minutes.
    expect(Number(retryAfter)).toBeLessThanOrEqual(360);
  });

  it('applies numbered rules first, by path, each with its own bucket', async () => {
    const [a] = await cluster(1, { LIMIT_REQ_RATE: '100r/m', LIMIT_REQ_URL_1: '^/login', LIMIT_REQ_RATE_1: '2r/m', USE_BAD_BEHAVIOR: 'no' });
    const login = [];
    for (let i = 0; i < 3; i++) login.push((await get(a!, '198.51.100.91', '/login')).status);
    expect(login).toEqual([200, 200, 429]);
    expect((await get(a!, '198.51.100.91', '/home')).status).toBe(200);
  });

  it("enforces each node's whole limit while Redis is down with LIMIT_REQ_DEGRADED=local", async () => {
    const own = await startRedis();
    const started = await startInProcessCluster(['lim-a', 'lim-b'], upstream.url, own.port, {
      LIMIT_REQ_RATE: '10r/h',
      USE_BAD_BEHAVIOR: 'no',
      LIMIT_REQ_DEGRADED: 'local',
    });
    nodes.push(...started);
    await own.stop();
    await waitFor(async () => ((await (await fetch(`${started[0]!.adminUrl}/readyz`)).json()) as { store: string }).store === 'degraded', 'degraded');
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await get(started[i % 2]!, '198.51.100.92')).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
  });

  it('refuses every limited request while Redis is down with LIMIT_REQ_DEGRADED=closed, and limits nothing with open', async () => {
    const own = await startRedis();
    const started = await startInProcessCluster(['lim-closed'], upstream.url, own.port, {
      LIMIT_REQ_RATE: '10r/h',
      USE_BAD_BEHAVIOR: 'no',
      LIMIT_REQ_DEGRADED: 'closed',
    });
    nodes.push(...started);
    const open = await startInProcessNode(
      clusterNodeEnv('lim-open-2', upstream.url, own.port, { LIMIT_REQ_RATE: '10r/h', USE_BAD_BEHAVIOR: 'no', LIMIT_REQ_DEGRADED: 'open' }),
    );
    nodes.push(open);
    await own.stop();
    await waitFor(() => started[0]!.store.health().mode === 'degraded' && open.store.health().mode === 'degraded', 'degraded');
    const closed: number[] = [];
    const opened: number[] = [];
    for (let i = 0; i < 15; i++) {
      closed.push((await get(started[0]!, '198.51.100.93')).status);
      opened.push((await get(open, '198.51.100.93')).status);
    }
    expect(closed.every((s) => s === 429)).toBe(true);
    expect(opened.every((s) => s === 200)).toBe(true);
  });
});

describe('blacklist', () => {
  it('blocks a listed network through a trusted X-Forwarded-For and ignores the header from an untrusted peer', async () => {
    const [trusting] = await cluster(1, { BLACKLIST_IP: '203.0.113.0/24' });
    expect((await get(trusting!, '203.0.113.7')).status).toBe(403);
    expect((await get(trusting!, '203.0.114.7')).status).toBe(200);
    const [untrusting] = await cluster(1, { BLACKLIST_IP: '203.0.113.0/24', REAL_IP_FROM: '10.0.0.0/8', NODE_NAME: 'sec-untrusting' });
    expect((await get(untrusting!, '203.0.113.7')).status).toBe(200);
  });

  it('enforces a downloaded IP list on every node, downloaded by one of them', async () => {
    const list = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('# bad networks\n192.0.2.128/25 ; test net\n198.51.100.66\nnot-an-ip\n127.0.0.1\n');
    });
    try {
      const [a, b] = await cluster(2, { BLACKLIST_IP_URLS: `${list.url}/list.txt?key=secret-list-key`, USE_LIMIT_REQ: 'no' });
      await waitFor(() => a!.store.bans.match('192.0.2.200') && b!.store.bans.match('198.51.100.66'), 'the list on both nodes');
      expect([(await get(a!, '192.0.2.200')).status, (await get(b!, '198.51.100.66')).status, (await get(b!, '192.0.2.1')).status]).toEqual([403, 403, 200]);
      expect(list.seen.length).toBe(1); // one node downloaded it (the lease)
      const ban = b!.store.bans.get('192.0.2.128/25')!;
      expect(ban).toMatchObject({ origin: 'blacklist', reason: 'blacklist.url' });
      expect(ban.expiresAt! - ban.createdAt).toBe(7_200_000);
      const logged = [...a!.lines, ...b!.lines].find((l) => l.msg === 'blacklist downloaded');
      // Loopback is refused by the ban policy, as the API refuses it; not-an-ip is invalid.
      expect(logged).toMatchObject({ entries: 3, banned: 2, added: 2, refused: 1, invalid: 1 });
      expect(JSON.stringify([...a!.lines, ...b!.lines])).not.toContain('secret-list-key');
    } finally {
      await list.close();
    }
  });

  it('refuses from a downloaded list what the ban API refuses: everyone, private and loopback networks, trusted proxies, the whitelist; counted per list and logged with the line', async () => {
    // A FireHOL-level1-style list, and worse.
    const text = [
      '0.0.0.0/0',
      '::/0',
      '10.0.0.0/8',
      '127.0.0.0/24',
      '198.18.0.0/24',
      '198.51.100.0/24',
      '203.0.113.99',
      '2001:db8::/48',
      'garbage',
      '192.0.2.77',
    ].join('\n');
    const list = await startUpstream((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(text);
    });
    try {
      // 127.0.0.1 (this test) and 198.18.0.5 are the node's trusted proxies (REAL_IP_FROM); 192.0.2.77 is whitelisted.
      const [a] = await cluster(1, {
        BLACKLIST_IP_URLS: `${list.url}/level1.netset`,
        REAL_IP_FROM: '127.0.0.1 198.18.0.5',
        WHITELIST_IP: '192.0.2.77',
        USE_LIMIT_REQ: 'no',
        NODE_NAME: 'sec-lists',
        REDIS_KEY_PREFIX: 'lists',
      });
      // Its own key prefix: the list test before holds the download lease in the shared Redis.
      const logged = await waitFor(() => a!.lines.find((l) => l.msg === 'blacklist downloaded'), 'the list downloaded');
      expect(logged).toMatchObject({ entries: 9, banned: 3, refused: 6, invalid: 1 });
      // The trusted proxy, loopback and everyone else still get through; the listed ones do not.
      expect((await get(a!, '198.51.100.20')).status).toBe(403);
      expect((await get(a!, '203.0.113.99')).status).toBe(403);
      expect((await get(a!, '192.0.2.1')).status).toBe(200);
      expect((await get(a!, '10.1.2.3')).status).toBe(200);
      expect((await fetch(`${a!.url}/`)).status).toBe(200);
      // Each refused line is logged with its number and reason.
      const refusedLines = a!.lines.filter((l) => String(l.msg).startsWith('blacklist entry refused'));
      expect(refusedLines.map((l) => [l.line, l.target])).toEqual([
        [1, '0.0.0.0/0'],
        [2, '::/0'],
        [3, '10.0.0.0/8'],
        [4, '127.0.0.0/24'],
        [5, '198.18.0.0/24'],
        [10, '192.0.2.77'],
      ]);
      expect(String(refusedLines[0]!.msg)).toContain('wider than /16 (BAN_MIN_PREFIX_IPV4)');
      expect(String(refusedLines[3]!.msg)).toContain('loopback');
      expect(String(refusedLines[4]!.msg)).toContain('trusted proxy (REAL_IP_FROM)');
      expect(String(refusedLines[5]!.msg)).toContain('protected by the whitelist plugin');
      const metrics = await (await fetch(`${a!.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/^palisade_blacklist_list_entries\{list="http:\/\/127\.0\.0\.1:\d+\/level1\.netset",state="refused"[^}]*\} 6$/m);
      expect(metrics).toMatch(/^palisade_bans_refused_total\{source="blacklist",reason="too_wide"[^}]*\} 3$/m);
    } finally {
      await list.close();
    }
  });

  it('blocks by User-Agent and path regular expressions, and lets whitelisted clients through', async () => {
    const [a] = await cluster(1, { BLACKLIST_USER_AGENT: '[Ss]qlmap', BLACKLIST_URI: '^/wp-admin', WHITELIST_IP: '198.51.100.250' });
    const ua = await fetch(`${a!.url}/`, { headers: { 'x-forwarded-for': '198.51.100.5', 'user-agent': 'sqlmap/1.7' } });
    expect(ua.status).toBe(403);
    expect((await get(a!, '198.51.100.5', '/wp-admin/setup.php')).status).toBe(403);
    expect((await get(a!, '198.51.100.250', '/wp-admin/setup.php')).status).toBe(200);
  });
});
