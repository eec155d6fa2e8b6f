import http from 'node:http';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readyOnSharedStore } from '../helpers/cluster.js';
import { startPalisade, type PalisadeProcess } from '../helpers/palisade.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis.js';
import { startSentinelCluster, type SentinelCluster } from '../helpers/sentinel.js';
import { stopAfterEach } from '../helpers/stop-after-each.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';
import { metricSum } from '../helpers/metrics.js';

let upstream: TestUpstream;
let redis: RedisServer;
const nodes = stopAfterEach<PalisadeProcess>();

beforeAll(async () => {
  upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('upstream');
  });
  redis = await startRedis();
});
afterAll(async () => {
  await stopAllRedis();
  await upstream.close();
});

/**
 * A node of `WORKERS=2` in front of the test upstream, trusting 127.0.0.1 to name clients.
 * The request budget is generous: a lease Redis answers late is decided on the node alone
 * (`LIMIT_REQ_DEGRADED`, tested elsewhere), and these tests are about the leases.
 */
async function node(name: string, env: Record<string, string>): Promise<PalisadeProcess> {
  const started = await startPalisade({
    NODE_NAME: name,
    WORKERS: '2',
    REVERSE_PROXY_HOST: upstream.url,
    USE_REAL_IP: 'yes',
    REAL_IP_FROM: '127.0.0.1/32',
    USE_REDIS: 'yes',
    REDIS_REQUEST_TIMEOUT: '2s',
    USE_BAD_BEHAVIOR: 'no',
    ...env,
  });
  nodes.push(started);
  return started;
}

const onRedis = (): Record<string, string> => ({ REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port) });

/** Both nodes see each other (the lease share counts their workers over the live nodes). */
async function bothLive(a: PalisadeProcess, b: PalisadeProcess, names: [string, string]): Promise<void> {
  for (const palisade of [a, b]) {
    await waitFor(async () => {
      const { nodes: seen } = (await (await fetch(`${palisade.adminUrl}/api/cluster`)).json()) as { nodes: Array<{ node: string; live: boolean }> };
      return names.every((name) => seen.some((n) => n.node === name && n.live));
    }, `${palisade.adminUrl} to see both nodes`);
  }
}

/** One request on a new connection (a worker of the node takes it from the shared socket). */
function send(palisade: PalisadeProcess, ip: string): Promise<{ status: number; requestId: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${palisade.proxyUrl}/`, { agent: false, headers: { 'x-forwarded-for': ip } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, requestId: String(res.headers['x-request-id']) }));
    });
    req.on('error', reject);
  });
}

/** The worker whose access line answered `requestId`. */
async function workerOf(palisade: PalisadeProcess, requestId: string): Promise<number> {
  const line = await waitFor(() => palisade.logs.find((l) => l.msg === 'request' && l.reqId === requestId), 'the access line');
  return Number(line.worker);
}

/** `count` requests for `ip`, taking turns between `among`; how many were allowed. */
async function alternate(among: PalisadeProcess[], ip: string, count: number, between?: (i: number) => Promise<void>): Promise<number> {
  let allowed = 0;
  for (let i = 0; i < count; i++) {
    await between?.(i);
    const { status } = await send(among[i % among.length]!, ip);
    expect([200, 429]).toContain(status);
    if (status === 200) allowed++;
  }
  return allowed;
}

describe('rate limits from leases (2 nodes × 2 workers on one Redis)', () => {
  it('allows at most 10 of 24 requests at 10r/m taking turns between the nodes, and at least 9', async () => {
    const a = await node('lease-a', { ...onRedis(), LIMIT_REQ_RATE: '10r/m' });
    const b = await node('lease-b', { ...onRedis(), LIMIT_REQ_RATE: '10r/m' });
    await bothLive(a, b, ['lease-a', 'lease-b']);
    const allowed = await alternate([a, b], '198.51.100.30', 24);
    expect(allowed).toBeLessThanOrEqual(10);
    expect(allowed).toBeGreaterThanOrEqual(9);
    // Leases were taken, and their sites counted them.
    expect(
      (await metricSum(a, /^palisade_rate_leases_total\{event="granted"/)) + (await metricSum(b, /^palisade_rate_leases_total\{event="granted"/)),
    ).toBeGreaterThan(0);
  });

  it('never allows more than 10 when a worker is killed (-9) holding a lease', async () => {
    const a = await node('kill-a', { ...onRedis(), LIMIT_REQ_RATE: '10r/h' });
    const b = await node('kill-b', { ...onRedis(), LIMIT_REQ_RATE: '10r/h' });
    await bothLive(a, b, ['kill-a', 'kill-b']);
    const ip = '198.51.100.31';
    // The first request on A: its worker takes a lease of a third of the 10 and spends one.
    const first = await send(a, ip);
    expect(first.status).toBe(200);
    const holder = await workerOf(a, first.requestId);
    const workers = ((await (await fetch(`${a.adminUrl}/api/workers`)).json()) as { workers: Array<{ slot: number; pid: number }> }).workers;
    const killed = workers.find((w) => w.slot === holder)!.pid;
    process.kill(killed, 'SIGKILL');
    // A new process in the slot, ready (the list shows the killed one as ready until its primary sees it go).
    await waitFor(
      async () =>
        ((await (await fetch(`${a.adminUrl}/api/workers`)).json()) as { workers: Array<{ slot: number; state: string; pid: number }> }).workers.every(
          (w) => w.state === 'ready' && w.pid > 0 && w.pid !== killed,
        ),
      'the replacement worker',
    );
    const allowed = 1 + (await alternate([a, b], ip, 20));
    expect(allowed).toBeLessThanOrEqual(10);
    // What the dead worker held is lost for the hour (under-admission, bounded by its lease).
    expect(allowed).toBeGreaterThanOrEqual(7);
  });

  it('never allows more than the limit per client in a burst of many clients at once at 5r/s', async () => {
    const a = await node('burst-a', { ...onRedis(), LIMIT_REQ_RATE: '5r/s' });
    const b = await node('burst-b', { ...onRedis(), LIMIT_REQ_RATE: '5r/s' });
    await bothLive(a, b, ['burst-a', 'burst-b']);
    const clients = Array.from({ length: 40 }, (_, i) => `203.0.113.${i + 1}`);
    const started = Date.now();
    const results = await Promise.all(
      clients.flatMap((ip) => Array.from({ length: 12 }, (_, i) => send(i % 2 ? a : b, ip).then((r) => [ip, r.status] as const))),
    );
    const ms = Date.now() - started;
    // GCRA at 5r/s: the burst of 5, and one more for each 200 ms the burst lasted (plus one
    // for a lease granted at most LEASE_MS before it was spent: none before the burst).
    const most = 5 + Math.ceil(ms / 200);
    for (const ip of clients) {
      const allowed = results.filter(([client, status]) => client === ip && status === 200).length;
      expect(allowed, `${ip} over ${ms} ms`).toBeLessThanOrEqual(most);
      expect(allowed, ip).toBeGreaterThanOrEqual(4);
    }
  });

  it('far below the limit (200 clients × 15 requests), its workers send at most 0.05 messages and its primary 0.05 Redis calls per request', async () => {
    const a = await node('far-a', { ...onRedis(), LIMIT_REQ_RATE: '100r/s' });
    await waitFor(() => readyOnSharedStore(a), 'the node ready on Redis');
    const counts = async () => ({
      messages: await metricSum(a, /^palisade_worker_messages_total\{direction="sent"/),
      calls: await metricSum(a, /^palisade_redis_command_duration_seconds_count\{command="gcra"/),
    });
    const before = await counts();
    const started = Date.now();
    let ok = 0;
    await Promise.all(
      Array.from({ length: 200 }, async (_, c) => {
        // One client, one connection (as a browser or an API client keeps it).
        const client = new Client(a.proxyUrl, { pipelining: 1 });
        try {
          for (let i = 0; i < 15; i++) {
            const response = await client.request({ path: '/', method: 'GET', headers: { 'x-forwarded-for': `100.70.${c >> 8}.${c & 255}` } });
            await response.body.dump();
            if (response.statusCode === 200) ok++;
          }
        } finally {
          await client.close();
        }
      }),
    );
    const ms = Date.now() - started;
    const after = await counts();
    const leases = await metricSum(a, /^palisade_rate_leases_total\{event="granted"/);
    const returned = await metricSum(a, /^palisade_rate_leases_total\{event="returned"/);
    console.info(`measured: 3,000 requests in ${ms} ms, ${leases} leases granted, ${returned} returned`);
    expect(ok).toBe(3_000);
    const perRequest = { messages: (after.messages - before.messages) / 3_000, calls: (after.calls - before.calls) / 3_000 };
    console.info(
      `measured: far below the limit, ${perRequest.messages.toFixed(3)} worker messages and ${perRequest.calls.toFixed(3)} Redis lease calls per request`,
    );
    expect(perRequest.messages).toBeLessThanOrEqual(0.05);
    expect(perRequest.calls).toBeLessThanOrEqual(0.05);
  });
});

describe('rate limits from leases across a Sentinel failover', () => {
  let sentinels: SentinelCluster;
  beforeAll(async () => {
    sentinels = await startSentinelCluster(1);
  }, 60_000);

  it('never allows more than 10 of 30 requests at 10r/h taking turns between 2 nodes × 2 workers while the master changes', async () => {
    const env = { REDIS_SENTINEL_HOSTS: sentinels.sentinelHosts, REDIS_TIMEOUT: '1s', REDIS_REQUEST_TIMEOUT: '1s', LIMIT_REQ_RATE: '10r/h' };
    const a = await node('sentinel-a', env);
    const b = await node('sentinel-b', env);
    await bothLive(a, b, ['sentinel-a', 'sentinel-b']);
    await sentinels.waitForReplicasInSync();
    let failover: Promise<unknown> | undefined;
    const allowed = await alternate([a, b], '198.51.100.32', 30, async (i) => {
      if (i === 5) failover = sentinels.failover();
    });
    await failover;
    const after = await alternate([a, b], '198.51.100.32', 6);
    expect(allowed + after).toBeLessThanOrEqual(10);
  });
});
