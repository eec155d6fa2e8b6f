/**
 * `node dist/bench/redis-commands.js`: Redis commands per clean proxied request, from
 * `INFO commandstats` deltas. Starts redis-server, a trivial upstream and Palisade with its
 * default plugins and USE_REDIS=yes, measures the background rate (heartbeat, INFO, stream
 * reads) over an idle window, then sends BENCH_REQUESTS requests (10,000) from many client
 * IPs (X-Forwarded-For from a trusted loopback peer, so no limit is hit) and reports, per
 * request: the round trips the node made to Redis (its own command histogram) and the
 * commands Redis executed (`INFO commandstats`, which also counts the commands run inside a
 * script: one EVALSHA of the rate limit shows as evalsha + time + get + set), with the
 * background subtracted. Prints a table, then one JSON line.
 */
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench, spawnTracked } from './children.js';
import { startTarget } from './launch.js';
import { freePort } from './ports.js';
import { startBenchRedis, type BenchRedis } from './redis-server.js';

const packageRoot = join(import.meta.dirname, '..', '..');
const progress = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

/** Calls per command since the last CONFIG RESETSTAT. */
async function commandCalls(redis: BenchRedis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const match of (await redis.client.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls.set(match[1]!, Number(match[2]));
  }
  return calls;
}

/** Request-path round trips the node counted (its command histogram, less the calls never sent). */
async function roundTrips(adminUrl: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^palisade_redis_command_duration_seconds_count\{(?![^}]*outcome="unavailable")[^}]*\} (\d+)/gm)) total += Number(match[1]);
  return total;
}

/** Sends `count` requests, `concurrency` at a time, each from its own client IP. */
async function sendRequests(url: string, count: number, concurrency: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  let failed = 0;
  const one = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const ip = `100.${(i >> 16) & 63}.${(i >> 8) & 255}.${i & 255}`;
      const req = http.get(url, { agent, headers: { 'x-forwarded-for': ip } }, (res) => {
        if (res.statusCode !== 200) failed++;
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', () => {
        failed++;
        resolve();
      });
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await one(next++);
    }),
  );
  agent.destroy();
  return failed;
}

async function main(): Promise<void> {
  const requests = Number(process.env.BENCH_REQUESTS ?? 10_000);
  if (!Number.isInteger(requests) || requests < 100) throw new Error('BENCH_REQUESTS must be an integer ≥ 100');
  const redis = await startBenchRedis();
  const upstream = await startTarget('upstream');
  const httpPort = await freePort();
  const adminPort = await freePort();
  spawnTracked('palisade', process.execPath, [join(packageRoot, 'bin', 'palisade'), 'start'], {
    env: {
      PATH: process.env.PATH,
      HTTP_ADDRESS: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
      NODE_NAME: 'bench',
      REVERSE_PROXY_HOST: upstream.url.origin,
      USE_REAL_IP: 'yes',
      REAL_IP_FROM: '127.0.0.1',
      USE_REDIS: 'yes',
      SESSIONS_SECRET: 'bench-sessions-secret-0123456789abcdef',
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redis.port),
    },
    cwd: mkdtempSync(join(tmpdir(), 'palisade-bench-')),
    stdout: 'ignore',
  });
  const url = `http://127.0.0.1:${httpPort}/`;
  const deadline = Date.now() + 15_000;
  while (
    (
      await fetch(`http://127.0.0.1:${adminPort}/readyz`)
        .then((r) => r.json() as Promise<{ store: string }>)
        .catch(() => undefined)
    )?.store !== 'shared'
  ) {
    if (Date.now() > deadline) throw new Error('palisade did not reach store=shared within 15 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await sendRequests(url, 500, 20); // warm-up

  progress('measuring the background rate (5 s idle)');
  await redis.client.config('RESETSTAT');
  let started = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const idle = await commandCalls(redis);
  const idleMs = Date.now() - started;

  progress(`sending ${requests} requests from ${requests} client IPs`);
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  await redis.client.config('RESETSTAT');
  const tripsBefore = await roundTrips(adminUrl);
  started = Date.now();
  const failed = await sendRequests(url, requests, 50);
  const busy = await commandCalls(redis);
  const busyMs = Date.now() - started;
  const tripsPerRequest = ((await roundTrips(adminUrl)) - tripsBefore) / requests;

  const perRequest = new Map<string, number>();
  for (const [command, calls] of busy) {
    if (command === 'info' || command === 'config') continue; // this bench's own
    const background = ((idle.get(command) ?? 0) * busyMs) / idleMs;
    const value = Math.max(0, calls - background) / requests;
    if (value >= 0.001) perRequest.set(command, value);
  }
  const total = [...perRequest.values()].reduce((sum, v) => sum + v, 0);
  const rows = [...perRequest].sort((x, y) => y[1] - x[1]).map(([c, v]) => `  ${c.padEnd(14)} ${v.toFixed(3)}`);
  process.stdout.write(
    `${requests} clean requests in ${(busyMs / 1000).toFixed(1)} s (${failed} failed); background ${((([...idle.values()].reduce((s, v) => s + v, 0) - (idle.get('info') ?? 0) - (idle.get('config') ?? 0)) * 1000) / idleMs).toFixed(1)} commands/s subtracted\n` +
      `Redis round trips per request (request path): ${tripsPerRequest.toFixed(3)}\n` +
      `Redis commands executed per request (commandstats, inside scripts included): ${total.toFixed(3)}\n${rows.join('\n')}${rows.length ? '\n' : ''}` +
      `${JSON.stringify({ bench: 'redis-commands', requests, failed, round_trips_per_request: Number(tripsPerRequest.toFixed(4)), commands_per_request: Number(total.toFixed(4)), by_command: Object.fromEntries([...perRequest].map(([c, v]) => [c, Number(v.toFixed(4))])) })}\n`,
  );
  redis.client.disconnect();
}

runBench(main);
