import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startPalisade, type PalisadeProcess } from '../helpers/palisade.js';
import { freePort } from '../helpers/ports.js';
import { stopAllRedis, type RedisServer } from '../helpers/redis.js';
import { startSentinelCluster, type SentinelCluster } from '../helpers/sentinel.js';
import { answeredIfEachWaited, startTraffic, type TrafficReport } from '../helpers/traffic.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

/** Request-path Redis budget the node runs with. */
const BUDGET_MS = 50;
/** The node's Redis command and connect timeout: what a request that waited on Redis would wait. */
const REDIS_TIMEOUT_MS = 2_000;
/** Traffic loops of the failover tests. */
const LOOPS = 2;
const POOL = 3;
const NODE = 'sentinel-node';

let cluster: SentinelCluster;
let upstream: TestUpstream;
let node: PalisadeProcess;
const extraNodes: PalisadeProcess[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
  cluster = await startSentinelCluster(3);
  const deadSentinel = await freePort();
  node = await startPalisade({
    REVERSE_PROXY_HOST: upstream.url,
    USE_REDIS: 'yes',
    // The first sentinel listed is down: it must cost little, and never be tried first again.
    REDIS_SENTINEL_HOSTS: `127.0.0.1:${deadSentinel} ${cluster.sentinelHosts}`,
    REDIS_SENTINEL_MASTER: cluster.masterName,
    REDIS_KEEPALIVE_POOL: String(POOL),
    REDIS_REQUEST_TIMEOUT: `${BUDGET_MS}ms`,
    REDIS_TIMEOUT: `${REDIS_TIMEOUT_MS}ms`,
    NODE_NAME: NODE,
  });
}, 120_000);

afterAll(async () => {
  await Promise.all([node, ...extraNodes].map((n) => n?.stop()));
  await stopAllRedis();
  await upstream?.close();
});

async function redisInfo(n: PalisadeProcess = node): Promise<Record<string, unknown>> {
  return (await (await fetch(`${n.adminUrl}/plugins/redis/info`)).json()) as Record<string, unknown>;
}

/** Resolves when the node's pool talks to `server` and its heartbeat, written after `since`, is on it. */
async function nodeFollows(server: RedisServer, since: number, timeoutMs = 20_000): Promise<number> {
  const client = server.client();
  try {
    await waitFor(
      async () => {
        const info = await redisInfo();
        if (info.master !== `127.0.0.1:${server.port}` || info.up !== true) return false;
        const beat = await client.get(`palisade:node:${NODE}`);
        return beat !== null && (JSON.parse(beat) as { at: number }).at > since;
      },
      `the node to write to the master on ${server.port}`,
      timeoutMs,
      50,
    );
    return Date.now() - since;
  } finally {
    client.disconnect();
  }
}

/**
 * No request failed, and none waited on Redis while it was away: the loops got far more
 * answers during the outage than they could have if each request had waited for a Redis
 * timeout (five times the most a waiting node could give). Latency under a failover is a
 * figure for a quiet machine; these 2 shared cores only tell whether requests waited.
 */
function expectClean(report: TrafficReport, outage: { answered: number; ms: number }): void {
  expect({ failed: report.failed, statuses: report.statuses }).toEqual({ failed: 0, statuses: {} });
  expect(outage.answered).toBeGreaterThan(5 * answeredIfEachWaited(LOOPS, outage.ms, REDIS_TIMEOUT_MS));
}

/** Counts the node's pool connections on every live server. */
async function poolConnections(): Promise<number> {
  let total = 0;
  for (const server of cluster.servers) {
    if (server.process.exitCode !== null || server.process.signalCode !== null) continue;
    const client = server.client({ connectTimeout: 500, commandTimeout: 1_000 });
    try {
      const list = (await client.call('CLIENT', 'LIST')) as string;
      total += (list.match(new RegExp(`name=palisade:${NODE}:pool-\\d+`, 'g')) ?? []).length;
    } finally {
      client.disconnect();
    }
  }
  return total;
}

describe('redis plugin behind Sentinel', () => {
  it('finds the master through the sentinels when the first listed one is down', async () => {
    const master = await cluster.currentMaster();
    expect(await redisInfo()).toMatchObject({ mode: 'sentinel', up: true, master: `127.0.0.1:${master.port}` });
    expect(((await (await fetch(`${node.adminUrl}/readyz`)).json()) as { store: string }).store).toBe('shared');
  });

  it('finds the master through one sentinel service given as REDIS_SENTINEL_HOST and REDIS_SENTINEL_PORT', async () => {
    const sentinel = cluster.sentinels[1]!;
    const service = await startPalisade({
      REVERSE_PROXY_HOST: upstream.url,
      USE_REDIS: 'yes',
      REDIS_SENTINEL_HOST: 'localhost',
      // As Kubernetes writes it for a Service named redis-sentinel.
      REDIS_SENTINEL_PORT: `tcp://127.0.0.1:${sentinel.port}`,
      REDIS_SENTINEL_MASTER: cluster.masterName,
      NODE_NAME: 'sentinel-service',
    });
    extraNodes.push(service);
    const master = await cluster.currentMaster();
    expect(await redisInfo(service)).toMatchObject({ mode: 'sentinel', up: true, master: `127.0.0.1:${master.port}` });
    expect(((await (await fetch(`${service.adminUrl}/readyz`)).json()) as { store: string }).store).toBe('shared');
    const check = await runCli(['config', 'check'], { USE_REDIS: 'yes', REDIS_SENTINEL_HOST: 'localhost', REDIS_SENTINEL_PORT: String(sentinel.port) });
    expect(check.stdout).toMatch(new RegExp(`REDIS_SENTINEL_HOSTS\\s+localhost:${sentinel.port}\\s+\\(derived\\)`));
  });

  it('refuses REDIS_SENTINEL_HOSTS and REDIS_SENTINEL_HOST together before listening (exit 78), naming both', async () => {
    const both = await runCli(['start'], {
      USE_REDIS: 'yes',
      REDIS_SENTINEL_HOSTS: cluster.sentinelHosts,
      REDIS_SENTINEL_HOST: 'localhost',
      REDIS_SENTINEL_PORT: String(cluster.sentinels[0]!.port),
    });
    expect(both.code).toBe(78);
    expect(both.stderr).toContain(
      'REDIS_SENTINEL_HOST: set either REDIS_SENTINEL_HOSTS (a list) or REDIS_SENTINEL_HOST with REDIS_SENTINEL_PORT (one sentinel service), not both',
    );
  });

  it('tells "no sentinel reachable" apart from "no sentinel knows the master"', async () => {
    const deadOnly = await startPalisade({
      USE_REDIS: 'yes',
      REDIS_SENTINEL_HOSTS: `127.0.0.1:${await freePort()}`,
      REDIS_TIMEOUT: '1s',
      NODE_NAME: 'no-sentinel',
    });
    extraNodes.push(deadOnly);
    expect(deadOnly.logs.some((l) => l.code === 'PAL_REDIS_SENTINEL' && String(l.msg).startsWith('no sentinel reachable'))).toBe(true);
    const unknown = await startPalisade({
      USE_REDIS: 'yes',
      REDIS_SENTINEL_HOSTS: cluster.sentinelHosts,
      REDIS_SENTINEL_MASTER: 'nosuchmaster',
      REDIS_TIMEOUT: '1s',
      NODE_NAME: 'no-master',
    });
    extraNodes.push(unknown);
    expect(unknown.logs.some((l) => l.code === 'PAL_REDIS_SENTINEL' && String(l.msg).startsWith('no sentinel knows master "nosuchmaster"'))).toBe(true);
    expect(((await (await fetch(`${unknown.adminUrl}/readyz`)).json()) as { store: string }).store).toBe('degraded');
  });

  it('follows SENTINEL FAILOVER under traffic: no failed request, none waiting on Redis, writes on the new master', async () => {
    // Warm the client's connections and the proxy's code paths: a first request is not a failover cost.
    for (let i = 0; i < 20; i++) await (await fetch(`${node.proxyUrl}/warm-up`)).arrayBuffer();
    const traffic = startTraffic(`${node.proxyUrl}/failover`, LOOPS);
    const started = Date.now();
    const outage = await traffic.answeredWhile(async () => nodeFollows(await cluster.failover(), started));
    const report = await traffic.stop();
    console.info(
      `measured: SENTINEL FAILOVER → writes on the new master after ${outage.value} ms; ${report.sent} requests, p99 ${report.p99Ms.toFixed(1)} ms, max ${report.maxMs.toFixed(1)} ms`,
    );
    expectClean(report, outage);
    const metrics = await (await fetch(`${node.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/^palisade_redis_failovers_total\{node="sentinel-node"\} [1-9]/m);
  });

  it(`never holds more than REDIS_KEEPALIVE_POOL pool connections across 10 failovers`, async () => {
    for (let i = 0; i < 10; i++) {
      const started = Date.now();
      const next = await cluster.failover();
      await nodeFollows(next, started);
      expect(await poolConnections()).toBeLessThanOrEqual(POOL);
    }
    await waitFor(async () => (await poolConnections()) === POOL, 'the pool to be whole on the last master');
  }, 240_000);

  it('follows a master frozen by SIGSTOP for 20 s under traffic', async () => {
    const frozen = await cluster.currentMaster();
    await cluster.waitForReplicasInSync();
    const traffic = startTraffic(`${node.proxyUrl}/sigstop`, LOOPS);
    const started = Date.now();
    frozen.freeze();
    let outage: { answered: number; ms: number };
    try {
      outage = await traffic.answeredWhile(async () => {
        const landed = await nodeFollows(await cluster.waitForNewMaster(frozen), started);
        console.info(`measured: SIGSTOP of the master → writes on the new master after ${landed} ms`);
        await waitFor(() => Date.now() - started >= 20_000, 'the 20 s freeze', 25_000, 250);
      });
    } finally {
      frozen.thaw();
    }
    const report = await traffic.stop();
    console.info(`measured: SIGSTOP 20 s: ${report.sent} requests, p99 ${report.p99Ms.toFixed(1)} ms, max ${report.maxMs.toFixed(1)} ms`);
    expectClean(report, outage);
  }, 90_000);

  it('follows a kill -9 of the master under traffic', async () => {
    await cluster.waitForReplicasInSync();
    const victim = await cluster.currentMaster();
    const traffic = startTraffic(`${node.proxyUrl}/kill`, LOOPS);
    const started = Date.now();
    const outage = await traffic.answeredWhile(async () => {
      await victim.stop(true);
      return nodeFollows(await cluster.waitForNewMaster(victim), started);
    });
    const report = await traffic.stop();
    console.info(
      `measured: kill -9 of the master → writes on the new master after ${outage.value} ms; ${report.sent} requests, p99 ${report.p99Ms.toFixed(1)} ms, max ${report.maxMs.toFixed(1)} ms`,
    );
    expectClean(report, outage);
    // The pool reconnects on its own once the new master answers: it is whole again, no connection leaked.
    expect(await poolConnections()).toBeLessThanOrEqual(POOL);
    await waitFor(async () => (await poolConnections()) === POOL, 'the pool to be whole on the new master');
  }, 60_000);
});
