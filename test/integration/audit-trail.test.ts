import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterNodeEnv } from '../helpers/cluster.js';
import { startPalisade, type PalisadeProcess } from '../helpers/palisade.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

/**
 * One audit writer (the ban facet): automatic bans, API bans, lifts and imports all leave
 * an entry, visible on every node, and the trail survives Redis restarting empty.
 */
const TOKEN = 'audit-trail-token-0123456789';
const ERIN = 'audit-trail-erin-token-01234';
let upstream: TestUpstream;
let redis: RedisServer;
let a: PalisadeProcess;
let b: PalisadeProcess;

interface Entry {
  id: string;
  actor: string;
  node: string;
  action: string;
  target: string;
  origin?: string;
  reason?: string;
}

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    res.writeHead(req.url?.startsWith('/missing') ? 404 : 200);
    res.end();
  });
  redis = await startRedis();
  const env = (name: string): Record<string, string> =>
    clusterNodeEnv(name, upstream.url, redis.port, {
      ADMIN_TOKENS: `dana:operator:${TOKEN},erin:operator:${ERIN}`,
      USE_LIMIT_REQ: 'no',
      BAD_BEHAVIOR_THRESHOLD: '3',
    });
  [a, b] = [await startPalisade(env('audit-a')), await startPalisade(env('audit-b'))];
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await stopAllRedis();
  await upstream?.close();
});

async function audit(node: PalisadeProcess): Promise<Entry[]> {
  const answer = (await (await fetch(`${node.adminUrl}/api/audit?limit=1000`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as {
    entries: Entry[];
  };
  return answer.entries;
}

describe('audit trail', () => {
  it('records an automatic ban made on A, visible on B, with the plugin as actor', async () => {
    const ip = '198.51.100.61';
    for (let i = 0; i < 3; i++) await (await fetch(`${a.proxyUrl}/missing/${i}`, { headers: { 'x-forwarded-for': ip } })).arrayBuffer();
    const entry = await waitFor(async () => (await audit(b)).find((e) => e.target === ip), 'the entry on B');
    expect(entry).toMatchObject({ action: 'ban', actor: 'bad-behavior', origin: 'bad-behavior', node: 'audit-a', reason: 'bad-behavior' });
  });

  it('records each address of an import, and a lift with who did it', async () => {
    const imported = await fetch(`${a.adminUrl}/api/bans/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(['203.0.113.71', '203.0.113.72', '203.0.113.73'].map((ip) => ({ ip, duration: '1h', reason: 'imported' }))),
    });
    expect(await imported.json()).toEqual({ accepted: 3, rejected: [] });
    const entries = await waitFor(async () => {
      const found = (await audit(b)).filter((e) => e.action === 'import');
      return found.length === 3 ? found : undefined;
    }, 'three import entries on B');
    expect(entries.map((e) => e.target).sort()).toEqual(['203.0.113.71', '203.0.113.72', '203.0.113.73']);
    expect(entries.every((e) => e.actor === 'dana' && e.origin === 'import')).toBe(true);

    const lifted = await fetch(`${b.adminUrl}/api/bans/203.0.113.72`, { method: 'DELETE', headers: { authorization: `Bearer ${ERIN}` } });
    expect(lifted.status).toBe(204);
    const lift = await waitFor(async () => (await audit(a)).find((e) => e.action === 'unban' && e.target === '203.0.113.72'), 'the lift on A');
    expect(lift).toMatchObject({ actor: 'erin', node: 'audit-b', reason: 'imported' });
  });

  it('gets every entry back after Redis restarts empty, none twice', async () => {
    const before = await audit(b);
    expect(before.length).toBeGreaterThanOrEqual(5);
    await redis.restart();
    await waitFor(
      async () => {
        const after = await audit(b).catch(() => []);
        return after.length === before.length ? after : undefined;
      },
      'the trail back',
      20_000,
    );
    const after = await audit(a);
    expect(after.map((e) => e.id).sort()).toEqual(before.map((e) => e.id).sort());
  });
});
