/**
 * `node dist/bench/bans.js`: how a node copes with a large shared ban list. Fills Redis with
 * BENCH_BANS bans (1,000,000 by default) in the layout ban_apply.lua writes, starts a node
 * against it and reports the full resync time (as the node logs it) and the node's RSS next
 * to a node started against an empty Redis in the same run. Prints a table, then one JSON
 * line.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench, spawnTracked, stopTracked, waitForJsonLine, type Tracked } from './children.js';
import { freePort } from './ports.js';
import { rssMiB, startBenchRedis, type BenchRedis } from './redis-server.js';

const packageRoot = join(import.meta.dirname, '..', '..');
const progress = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

interface ResyncLine {
  msg: 'bans resynced with Redis';
  remote: number;
  ms: number;
}
const isResyncLine = (line: unknown): line is ResyncLine => (line as ResyncLine | null)?.msg === 'bans resynced with Redis';

/** Writes `count` bans with 1-hour expiries through pipelines of 10,000. */
async function fillBans(redis: BenchRedis, count: number): Promise<number> {
  const started = Date.now();
  const expiresAt = Date.now() + 3_600_000;
  for (let offset = 0; offset < count; offset += 10_000) {
    const pipeline = redis.client.pipeline();
    for (let i = offset; i < Math.min(count, offset + 10_000); i++) {
      const target = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const ban = { target, reason: 'bench', origin: 'api', actor: 'bench', node: 'bench-filler', createdAt: started, expiresAt, evidence: '', version: i + 1 };
      pipeline.set(`palisade:ban:${target}`, JSON.stringify({ op: 'ban', ban }));
      pipeline.zadd('palisade:bans:index', expiresAt, target);
    }
    await pipeline.exec();
  }
  return Date.now() - started;
}

/** Starts a node on `redis` and resolves once its first resync is logged. */
async function startNode(redis: BenchRedis, name: string): Promise<{ tracked: Tracked; resync: ResyncLine; startedMs: number }> {
  const httpPort = await freePort();
  const adminPort = await freePort();
  const started = Date.now();
  const tracked = spawnTracked(name, process.execPath, [join(packageRoot, 'bin', 'palisade'), 'start'], {
    env: {
      PATH: process.env.PATH,
      HTTP_ADDRESS: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
      NODE_NAME: name,
      USE_REDIS: 'yes',
      SESSIONS_SECRET: 'bench-sessions-secret-0123456789abcdef',
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redis.port),
      REDIS_TIMEOUT: '30s',
      LOG_LEVEL: 'info',
    },
    cwd: mkdtempSync(join(tmpdir(), 'palisade-bench-')),
    stdout: 'pipe',
  });
  const resync = await waitForJsonLine(tracked, isResyncLine, 300_000);
  return { tracked, resync, startedMs: Date.now() - started };
}

async function main(): Promise<void> {
  const count = Number(process.env.BENCH_BANS ?? 1_000_000);
  if (!Number.isInteger(count) || count < 1 || count > 16_000_000) throw new Error('BENCH_BANS must be an integer from 1 to 16,000,000');
  const redis = await startBenchRedis();
  progress('baseline node on an empty Redis');
  const empty = await startNode(redis, 'bench-empty');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const baselineRss = await rssMiB(empty.tracked.child.pid!);
  await stopTracked(empty.tracked);

  progress(`writing ${count.toLocaleString('en')} bans to Redis`);
  const fillMs = await fillBans(redis, count);
  const redisMemory = Number(/used_memory:(\d+)/.exec(await redis.client.info('memory'))?.[1] ?? 0) / 1024 / 1024;
  progress(`starting a node against ${count.toLocaleString('en')} bans`);
  const loaded = await startNode(redis, 'bench-loaded');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const loadedRss = await rssMiB(loaded.tracked.child.pid!);

  const perBan = ((loadedRss - baselineRss) * 1024 * 1024) / count;
  process.stdout.write(
    `bans in Redis             ${count.toLocaleString('en')} (written in ${(fillMs / 1000).toFixed(1)} s, Redis used_memory ${redisMemory.toFixed(0)} MiB)\n` +
      `full resync at start      ${(loaded.resync.ms / 1000).toFixed(2)} s (node ready and synced ${(loaded.startedMs / 1000).toFixed(2)} s after spawn)\n` +
      `node RSS                  ${loadedRss.toFixed(0)} MiB (empty ban list: ${baselineRss.toFixed(0)} MiB, ≈ ${perBan.toFixed(0)} bytes per ban)\n` +
      `${JSON.stringify({ bench: 'bans', bans: count, resync_ms: loaded.resync.ms, synced_after_spawn_ms: loaded.startedMs, rss_mib: Math.round(loadedRss), baseline_rss_mib: Math.round(baselineRss), bytes_per_ban: Math.round(perBan), redis_used_mib: Math.round(redisMemory) })}\n`,
  );
  redis.client.disconnect();
}

runBench(main);
