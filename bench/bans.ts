/**
 * `node dist/bench/bans.js`: how a node copes with a large shared ban list. Fills Redis with
 * bans in the layout ban_apply.lua writes — first 100,000, then up to BENCH_BANS (1,000,000
 * by default) — and at each size starts a node with WORKERS=1 and with WORKERS=2 against
 * it, reporting the full resync time (as the node logs it), the time until the node is
 * ready (every worker holds every ban), and the RSS of the whole node (the primary and its
 * workers) once it has been idle for BENCH_SETTLE_MS (10 s), next to nodes started against
 * an empty Redis in the same run. Prints a table, then one JSON line.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench, spawnTracked, stopTracked, waitForJsonLine, type Tracked } from './children.js';
import { processTree } from './cpu.js';
import { getOnce } from './launch.js';
import { freePort } from './ports.js';
import { rssMiB, startBenchRedis, type BenchRedis } from './redis-server.js';
import { banHash, bucketOf } from '../src/store/ban-digest.js';

const packageRoot = join(import.meta.dirname, '..', '..');
const progress = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

interface ResyncLine {
  msg: 'bans resynced with Redis';
  remote: number;
  ms: number;
}
const isResyncLine = (line: unknown): line is ResyncLine => (line as ResyncLine | null)?.msg === 'bans resynced with Redis';

/**
 * Writes bans `from` … `to - 1` with 1-hour expiries through pipelines of 10,000, keeping
 * Redis's ban digest as ban_apply.lua does (all of them expire in the same minute: one
 * bucket). Without it, a digest some node marked complete on the empty Redis would say no
 * ban, and every node would resync once more to find out.
 */
async function fillBans(redis: BenchRedis, from: number, to: number): Promise<number> {
  const started = Date.now();
  const expiresAt = Date.now() + 3_600_000;
  let digest = 0;
  for (let offset = from; offset < to; offset += 10_000) {
    const pipeline = redis.client.pipeline();
    for (let i = offset; i < Math.min(to, offset + 10_000); i++) {
      const target = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const ban = { target, reason: 'bench', origin: 'api', actor: 'bench', node: 'bench-filler', createdAt: started, expiresAt, evidence: '', version: i + 1 };
      pipeline.set(`palisade:ban:${target}`, JSON.stringify({ op: 'ban', ban }));
      pipeline.zadd('palisade:bans:index', expiresAt, target);
      digest ^= banHash(target);
    }
    await pipeline.exec();
  }
  const held = Number(await redis.client.hget('palisade:bans:digest', bucketOf(expiresAt)));
  await redis.client.hset('palisade:bans:digest', bucketOf(expiresAt), held ^ digest);
  return Date.now() - started;
}

/** A node started for one measurement: its resync time, when it was ready, and its RSS. */
interface Measured {
  bans: number;
  workers: number;
  resyncMs: number;
  readyMs: number;
  rssMiB: number;
  /** `GET /api/bans?limit=50` on the idle node: the review's first page. */
  firstPageMs: number;
}

/**
 * Starts a node with `workers` workers on `redis`, waits for its first resync and for
 * `/readyz` (every worker loaded every ban), lets it settle a second, then measures the RSS
 * of all its processes and stops it.
 */
async function measureNode(redis: BenchRedis, bans: number, workers: number): Promise<Measured> {
  const httpPort = await freePort();
  const adminPort = await freePort();
  const name = `bench-${bans}-${workers}w`;
  const started = Date.now();
  const tracked = spawnTracked(name, process.execPath, [join(packageRoot, 'bin', 'palisade'), 'start'], {
    env: {
      PATH: process.env.PATH,
      HTTP_ADDRESS: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
      NODE_NAME: name,
      WORKERS: String(workers),
      USE_REDIS: 'yes',
      SESSIONS_SECRET: 'bench-sessions-secret-0123456789abcdef',
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redis.port),
      REDIS_TIMEOUT: '30s',
      LOG_LEVEL: 'info',
      // What the ban list costs, not the WAF's rules (each process would hold the CRS too).
      USE_MODSECURITY: 'no',
    },
    cwd: mkdtempSync(join(tmpdir(), 'palisade-bench-')),
    stdout: 'pipe',
  });
  try {
    const resync = await waitForJsonLine(tracked, isResyncLine, 300_000);
    const readyz = new URL(`http://127.0.0.1:${adminPort}/readyz`);
    for (;;) {
      if ((await getOnce(readyz).catch(() => ({ status: 0 }))).status === 200) break;
      if (Date.now() - started > 300_000) throw new Error(`${name} not ready after 300 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const readyMs = Date.now() - started;
    // Steady state: V8 gives back what the load allocated for a while only once the node is idle.
    await new Promise((resolve) => setTimeout(resolve, Number(process.env.BENCH_SETTLE_MS ?? 10_000)));
    let rss = 0;
    const each: string[] = [];
    for (const pid of processTree(tracked.child.pid)) {
      if (pid === undefined) continue;
      const mib = await rssMiB(pid);
      rss += mib;
      each.push(mib.toFixed(0));
    }
    progress(`${name}: RSS ${each.join(' + ')} MiB (primary first)`);
    const pageStarted = performance.now();
    await getOnce(new URL(`http://127.0.0.1:${adminPort}/api/bans?limit=50`), 60_000);
    const firstPageMs = performance.now() - pageStarted;
    return { bans, workers, resyncMs: resync.ms, readyMs, rssMiB: rss, firstPageMs };
  } finally {
    await stopTracked(tracked);
  }
}

async function main(): Promise<void> {
  const count = Number(process.env.BENCH_BANS ?? 1_000_000);
  if (!Number.isInteger(count) || count < 1 || count > 16_000_000) throw new Error('BENCH_BANS must be an integer from 1 to 16,000,000');
  const sizes = [...new Set([Math.min(100_000, count), count])];
  const redis = await startBenchRedis();
  const results: Measured[] = [];
  const baseline = new Map<number, number>();
  for (const workers of [1, 2]) {
    progress(`empty ban list, WORKERS=${workers}`);
    baseline.set(workers, (await measureNode(redis, 0, workers)).rssMiB);
  }
  let written = 0;
  let redisMemory = 0;
  for (const size of sizes) {
    progress(`writing bans up to ${size.toLocaleString('en')}`);
    await fillBans(redis, written, size);
    written = size;
    redisMemory = Number(/used_memory:(\d+)/.exec(await redis.client.info('memory'))?.[1] ?? 0) / 1024 / 1024;
    for (const workers of [1, 2]) {
      progress(`${size.toLocaleString('en')} bans, WORKERS=${workers}`);
      results.push(await measureNode(redis, size, workers));
    }
  }
  const rows = results.map((r) => {
    const perBan = ((r.rssMiB - baseline.get(r.workers)!) * 1024 * 1024) / r.bans;
    return `${r.bans.toLocaleString('en').padStart(9)}  ${String(r.workers).padStart(7)}  ${(r.resyncMs / 1000).toFixed(2).padStart(9)}  ${(r.readyMs / 1000).toFixed(2).padStart(8)}  ${r.rssMiB.toFixed(0).padStart(8)}  ${perBan.toFixed(0).padStart(9)}  ${r.firstPageMs.toFixed(0).padStart(13)}`;
  });
  process.stdout.write(
    `bans in Redis: up to ${count.toLocaleString('en')} (Redis used_memory ${redisMemory.toFixed(0)} MiB); node RSS with no bans: ${baseline.get(1)!.toFixed(0)} MiB (1 worker), ${baseline.get(2)!.toFixed(0)} MiB (2 workers)\n` +
      `     bans  workers  resync s  ready s  RSS MiB  bytes/ban  first page ms\n${rows.join('\n')}\n` +
      `${JSON.stringify({
        bench: 'bans',
        redis_used_mib: Math.round(redisMemory),
        ...Object.fromEntries([...baseline].map(([workers, rss]) => [`baseline_${workers}w_rss_mib`, Math.round(rss)])),
        ...Object.fromEntries(
          results.flatMap((r) => [
            [`bans_${r.bans}_${r.workers}w_resync_ms`, r.resyncMs],
            [`bans_${r.bans}_${r.workers}w_ready_ms`, r.readyMs],
            [`bans_${r.bans}_${r.workers}w_rss_mib`, Math.round(r.rssMiB)],
            [`bans_${r.bans}_${r.workers}w_first_page_ms`, Math.round(r.firstPageMs)],
          ]),
        ),
      })}\n`,
  );
  redis.client.disconnect();
}

runBench(main);
