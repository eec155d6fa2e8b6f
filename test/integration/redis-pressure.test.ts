import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterNodeEnv } from '../helpers/cluster.js';
import { startPalisade, type PalisadeProcess } from '../helpers/palisade.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The shared ban set under memory pressure and outages: health that tells the truth, a node
 * that never serves without its bans (a STATE_DIR snapshot, or not ready), records put back
 * after an eviction, and an admin API that answers within its budget while Redis is frozen.
 */
const TOKEN = 'redis-pressure-token-0123456';
let upstream: TestUpstream;
const started: PalisadeProcess[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((node) => node.stop()));
  await stopAllRedis();
});
afterAll(async () => {
  await upstream?.close();
});

async function node(name: string, redis: RedisServer, extra: Record<string, string> = {}): Promise<PalisadeProcess> {
  const started_ = await startPalisade(
    clusterNodeEnv(name, upstream.url, redis.port, { ADMIN_TOKEN: TOKEN, USE_LIMIT_REQ: 'no', USE_BAD_BEHAVIOR: 'no', REDIS_TIMEOUT: '2s', ...extra }),
  );
  started.push(started_);
  return started_;
}

/** An admin API call; it fails, naming the call, when no answer came within 20 s. */
async function api(target: PalisadeProcess, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${target.adminUrl}${path}`, {
    signal: AbortSignal.timeout(20_000),
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function readyz(target: PalisadeProcess): Promise<{ status: number; body: { status: string; store: string; detail?: string; reason?: string } }> {
  const response = await fetch(`${target.adminUrl}/readyz`);
  return { status: response.status, body: (await response.json()) as { status: string; store: string; detail?: string; reason?: string } };
}

async function statusAs(target: PalisadeProcess, ip: string): Promise<number> {
  const response = await fetch(`${target.proxyUrl}/`, { headers: { 'x-forwarded-for': ip } });
  await response.arrayBuffer();
  return response.status;
}

const BANNED = ['203.0.113.81', '203.0.113.82', '203.0.113.83', '203.0.113.84', '203.0.113.85'];

async function banAll(target: PalisadeProcess, ips: string[]): Promise<void> {
  for (const ip of ips) expect((await api(target, 'POST', '/api/bans', { ip, duration: '1h', reason: 'pressure test' })).status).toBe(201);
}

/**
 * Makes Redis full under `noeviction`: some data, then a `maxmemory` below what it uses, so
 * every write is refused with OOM (as a Redis that filled up stays: reads still answer).
 */
async function fillUp(client: Redis): Promise<void> {
  const filler = 'x'.repeat(100 * 1024);
  for (let i = 0; i < 30; i++) await client.set(`filler:${i}`, filler);
  const used = Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
  await client.config('SET', 'maxmemory-policy', 'noeviction');
  await client.config('SET', 'maxmemory', String(used - 1024 * 1024));
  await expect(client.set('probe', '1')).rejects.toThrow(/OOM/);
}

describe('Redis refusing writes (maxmemory, noeviction, full)', () => {
  it('turns every node degraded within 5 s; a restarted node enforces every ban from its snapshot; shared again once memory is freed', async () => {
    const redis = await startRedis();
    const stateB = mkdtempSync(join(tmpdir(), 'palisade-state-'));
    const a = await node('oom-a', redis);
    let b = await node('oom-b', redis, { STATE_DIR: stateB });
    await banAll(a, BANNED);
    await waitFor(async () => (await Promise.all(BANNED.map((ip) => statusAs(b, ip)))).every((s) => s === 403), 'B to enforce the bans');

    const client = redis.client();
    await fillUp(client);
    await waitFor(
      async () => (await Promise.all([a, b].map(readyz))).every((r) => r.body.store === 'degraded' && /out of memory/.test(r.body.detail ?? '')),
      'both nodes degraded, out of memory',
      10_000,
      100,
    );
    // Degraded, yet serving: still ready.
    expect((await readyz(a)).status).toBe(200);

    // A ban made now is enforced where it was made, and waits for Redis.
    const made = await api(a, 'POST', '/api/bans', { ip: '203.0.113.86', duration: '1h', reason: 'during OOM' });
    expect(made).toMatchObject({ status: 201, json: { pending: true } });
    expect(await statusAs(a, '203.0.113.86')).toBe(403);

    // B restarted while Redis refuses: its snapshot holds every ban; it is ready and enforces them.
    await b.stop();
    started.splice(started.indexOf(b), 1);
    b = await node('oom-b', redis, { STATE_DIR: stateB });
    const ready = await readyz(b);
    expect(ready).toMatchObject({ status: 200, body: { status: 'ready', store: 'degraded' } });
    for (const ip of BANNED) expect(await statusAs(b, ip)).toBe(403);

    // Said once, not at every heartbeat.
    expect(a.logs.filter((l) => l.msg === 'redis refuses writes: store degraded, requests use local state')).toHaveLength(1);
    expect(a.logs.filter((l) => /ban resync failed/.test(String(l.msg))).length).toBeLessThanOrEqual(1);

    // Memory freed: shared again, and the ban made meanwhile reaches Redis and every node.
    await client.config('SET', 'maxmemory', '0');
    await waitFor(async () => (await Promise.all([a, b].map(readyz))).every((r) => r.body.store === 'shared'), 'both nodes shared again', 15_000, 100);
    await waitFor(async () => (await client.exists('palisade:ban:203.0.113.86')) === 1, 'the pending ban in Redis', 15_000);
    await waitFor(async () => (await statusAs(b, '203.0.113.86')) === 403, 'B to enforce the pending ban', 15_000);
    client.disconnect();
  });
});

describe('a node never serves without its bans', () => {
  it('is not ready, saying why, when Redis is down at start and no snapshot holds its bans; ready with one', async () => {
    const redis = await startRedis();
    const state = mkdtempSync(join(tmpdir(), 'palisade-state-'));
    const first = await node('cold-a', redis, { STATE_DIR: state });
    await banAll(first, BANNED.slice(0, 2));
    await first.stop();
    started.splice(started.indexOf(first), 1);
    await redis.stop();

    const bare = await node('cold-b', redis);
    const notReady = await readyz(bare);
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({ status: 'starting', store: 'degraded' });
    expect(notReady.body.reason).toMatch(/shared bans are not loaded yet .*no STATE_DIR snapshot/);

    // A snapshot written by a node that never had the shared bans does not make it ready.
    const partialState = mkdtempSync(join(tmpdir(), 'palisade-state-'));
    let partial = await node('cold-c', redis, { STATE_DIR: partialState });
    await banAll(partial, ['203.0.113.87']);
    await partial.stop();
    started.splice(started.indexOf(partial), 1);
    partial = await node('cold-c', redis, { STATE_DIR: partialState });
    expect((await readyz(partial)).status).toBe(503);
    expect(await statusAs(partial, '203.0.113.87')).toBe(403);

    const withSnapshot = await node('cold-a', redis, { STATE_DIR: state });
    expect(await readyz(withSnapshot)).toMatchObject({ status: 200, body: { status: 'ready', store: 'degraded' } });
    for (const ip of BANNED.slice(0, 2)) expect(await statusAs(withSnapshot, ip)).toBe(403);

    // Redis back (empty: it had no persistence): the snapshot's bans are re-asserted, the bare node loads them.
    await redis.restart();
    await waitFor(async () => (await readyz(bare)).status === 200, 'the bare node to load the bans', 20_000, 100);
    for (const ip of BANNED.slice(0, 2)) await waitFor(async () => (await statusAs(bare, ip)) === 403, `the bare node to enforce ${ip}`, 10_000);
  });
});

describe('a snapshot that does not add up', () => {
  it('is applied but cannot make a node ready when cut, edited or empty; its invalid records are dropped and counted', async () => {
    const redis = await startRedis();
    const state = mkdtempSync(join(tmpdir(), 'palisade-state-'));
    const first = await node('snap-a', redis, { STATE_DIR: state });
    await banAll(first, BANNED.slice(0, 4));
    await first.stop();
    started.splice(started.indexOf(first), 1);
    await redis.stop();
    const lines = readFileSync(join(state, 'bans.ndjson'), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(6); // header, four bans, end line
    /** A node started on a STATE_DIR holding `text` as its snapshot, with Redis down. */
    const startOn = async (name: string, text: string): Promise<PalisadeProcess> => {
      const dir = mkdtempSync(join(tmpdir(), 'palisade-state-'));
      writeFileSync(join(dir, 'bans.ndjson'), text);
      return node(name, redis, { STATE_DIR: dir });
    };
    const unusable = (n: PalisadeProcess): Record<string, unknown> | undefined => n.logs.find((l) => l.code === 'PAL_STATE_UNUSABLE');

    // The whole file: ready on it.
    const whole = mkdtempSync(join(tmpdir(), 'palisade-state-'));
    copyFileSync(join(state, 'bans.ndjson'), join(whole, 'bans.ndjson'));
    const intact = await node('snap-intact', redis, { STATE_DIR: whole });
    expect((await readyz(intact)).status).toBe(200);

    // Cut by lines (the end line and a ban gone): the bans it has are enforced, it is not ready.
    const cutLines = await startOn('snap-lines', `${lines.slice(0, 4).join('\n')}\n`);
    expect(await readyz(cutLines)).toMatchObject({ status: 503, body: { status: 'starting' } });
    expect(await statusAs(cutLines, BANNED[0]!)).toBe(403);
    expect(unusable(cutLines)).toMatchObject({ problem: 'no end line after 3 records (the file was cut)' });

    // Cut by bytes, in the middle of a record.
    const text = lines.join('\n');
    const cutBytes = await startOn('snap-bytes', text.slice(0, text.indexOf(lines[3]!) + 20));
    expect((await readyz(cutBytes)).status).toBe(503);
    expect(unusable(cutBytes)).toMatchObject({ problem: expect.stringContaining('the file was cut') });

    // Edited: a ban of everyone and one of garbage slipped in; dropped, counted, and the
    // checksum no longer matches.
    const everyone = JSON.stringify({ op: 'ban', ban: { ...JSON.parse(lines[1]!).ban, target: '0.0.0.0/0' } });
    const garbage = JSON.stringify({ op: 'ban', ban: { ...JSON.parse(lines[1]!).ban, target: 'not-an-ip' } });
    const edited = await startOn('snap-edited', [lines[0], everyone, garbage, ...lines.slice(1)].join('\n'));
    expect((await readyz(edited)).status).toBe(503);
    expect(await statusAs(edited, '198.51.100.1')).not.toBe(403);
    expect(await statusAs(edited, BANNED[1]!)).toBe(403);
    expect(edited.logs.find((l) => l.msg === 'ban snapshot loaded')).toMatchObject({ bans: 4, dropped: 2, complete: false });
    const text2 = await (await fetch(`${edited.adminUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(text2).toMatch(/^palisade_bans_refused_total\{source="snapshot",reason="too_wide"[^}]*\} 1$/m);
    expect(text2).toMatch(/^palisade_bans_refused_total\{source="snapshot",reason="invalid"[^}]*\} 1$/m);

    // A 0-byte file is named.
    const empty = await startOn('snap-empty', '');
    expect((await readyz(empty)).status).toBe(503);
    expect(unusable(empty)).toMatchObject({ msg: 'ban snapshot is an empty file: ignored' });
  });
});

describe('ban records lost in Redis', () => {
  it('puts a deleted ban record back within 10 s', async () => {
    const redis = await startRedis();
    const a = await node('evict-a', redis);
    await node('evict-b', redis);
    await banAll(a, BANNED.slice(0, 3));
    const client = redis.client();
    await waitFor(async () => (await client.exists('palisade:ban:203.0.113.82')) === 1, 'the record in Redis');
    const original = await client.get('palisade:ban:203.0.113.82');
    await client.del('palisade:ban:203.0.113.82');
    await waitFor(async () => (await client.exists('palisade:ban:203.0.113.82')) === 1, 'the record back', 15_000, 100);
    expect(await client.get('palisade:ban:203.0.113.82')).toBe(original);
    client.disconnect();
  });

  it('puts a lost ban index back within 10 s, so a node starting afterwards enforces every ban', async () => {
    const redis = await startRedis();
    const a = await node('index-a', redis);
    await banAll(a, BANNED.slice(0, 3));
    const client = redis.client();
    await waitFor(async () => (await client.zcard('palisade:bans:index')) === 3, 'the bans indexed');
    // Evicted alone (allkeys-* policies take any key): the records stay, nothing points at them.
    await client.del('palisade:bans:index');
    await waitFor(async () => (await client.zcard('palisade:bans:index')) === 3, 'the index back', 15_000, 100);
    const b = await node('index-b', redis);
    for (const ip of BANNED.slice(0, 3)) expect(await statusAs(b, ip)).toBe(403);
    // Redis's digest, which followed the index, is rebuilt over the restored one: both nodes agree with it.
    await waitFor(async () => {
      const view = (await api(a, 'GET', '/api/cluster')).json as { nodes: Array<{ name: string; bans: { agrees: boolean | null } }> };
      return view.nodes.length === 2 && view.nodes.every((n) => n.bans.agrees === true) ? view : undefined;
    }, 'both nodes agreeing with Redis');
    client.disconnect();
  });
});

describe('admin API while Redis is frozen', () => {
  it('answers a ban while Redis is frozen, enforced here at once and on the other node after SIGCONT; the audit answers from the node', async () => {
    const redis = await startRedis();
    const a = await node('frozen-a', redis);
    const b = await node('frozen-b', redis);
    redis.freeze();
    try {
      const made = await api(a, 'POST', '/api/bans', { ip: '203.0.113.91', duration: '1h', reason: 'frozen redis' });
      // Answered while Redis could not take the change: it waited for nothing Redis does.
      expect(made.status).toBe(201);
      expect(made.json.pending).toBe(true);
      expect(await statusAs(a, '203.0.113.91')).toBe(403);
      const audit = await api(a, 'GET', '/api/audit?limit=10');
      expect((audit.json.entries as Array<{ target: string }>).map((e) => e.target)).toContain('203.0.113.91');
    } finally {
      redis.thaw();
    }
    await waitFor(async () => (await statusAs(b, '203.0.113.91')) === 403, 'B to enforce the ban after SIGCONT', 15_000);
  });
});
