/**
 * `npm run bench`: req/s and p99 latency of Palisade (default plugins, access log on) next to
 * a bare http-proxy and to the ceiling — a plain http.createServer forwarding through an
 * undici Pool, Node's best for this work — all in front of the same trivial upstream, on
 * 127.0.0.1, each in its own processes: Palisade with the local store (without the WAF, and
 * with the OWASP CRS at paranoia level 1: `palisade+waf`), with `USE_REDIS=yes` (one process,
 * one worker, two), and on a Redis Cluster (one worker). Each request comes from one of
 * BENCH_CLIENTS (10,000) client IPs at random, each far below the rate limit the Palisade
 * targets run with (`LIMIT_REQ_RATE=10r/s`: a client gets about one request a second). Ratios are taken per round (each target against bare's and
 * the ceiling's runs of the same round) and their median reported; CPU time per request of
 * each target's processes (the primary, its workers, and redis-server, shown apart) beside
 * it: a neighbour taking the CPU away changes req/s, not the work per request. Also Redis
 * round trips and worker messages per request, and the rate leases granted, returned and
 * exhausted per request. BENCH_PIN_CPU=<n> runs each measured server (bare, the ceiling, the
 * Palisade targets) on that one CPU (taskset). Prints a table, then one JSON line (the last
 * line of stdout); progress goes to stderr. BENCH_REDIS=no skips the Redis targets,
 * BENCH_CLUSTER=no the Redis Cluster one (3 masters, no replicas); BENCH_PALISADE_ENV adds
 * settings to the Palisade targets (e.g. `LOG_LEVEL=warn` to size the access log's cost);
 * BENCH_ONLY (a comma-separated list of targets) measures those next to bare and the ceiling.
 * Last, with the targets idle, what one message between two processes costs here (see
 * message-cost.ts), and what the worker messages per request cost at that price.
 *
 * Environment: BENCH_DURATION (seconds per measured run, 8), BENCH_CONNECTIONS (50),
 * BENCH_WARMUP (seconds, once per target, 2), BENCH_ROUNDS (3), BENCH_TOOL (auto | wrk |
 * autocannon; auto takes wrk when it is on PATH).
 */
import { runBench } from './children.js';
import { cpuSeconds, processTree } from './cpu.js';
import { checkAnswersOk, getOnce, startPalisade, startTarget, type Server } from './launch.js';
import { findOnPath, pickTool, runLoad, type LoadResult } from './load.js';
import { startBenchCluster, startBenchRedis } from './redis-server.js';
import { measureMessageCost } from './message-cost.js';
import { formatTable, median, summarize, summaryJson } from './report.js';

/** The bench's knobs, read from the environment. */
export interface BenchConfig {
  durationSec: number;
  connections: number;
  warmupSec: number;
  rounds: number;
  tool: 'auto' | 'wrk' | 'autocannon';
  /** Distinct client IPs the load comes from. */
  clients: number;
  /** The CPU each measured server runs on, when pinned. */
  pinCpu: number | undefined;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  return value;
}

/** Reads and checks the BENCH_* variables; throws on a bad value rather than guessing. */
export function readConfig(env: NodeJS.ProcessEnv): BenchConfig {
  const tool = env.BENCH_TOOL || 'auto';
  if (tool !== 'auto' && tool !== 'wrk' && tool !== 'autocannon') throw new Error(`BENCH_TOOL must be auto, wrk or autocannon, not ${JSON.stringify(tool)}`);
  return {
    durationSec: integer(env, 'BENCH_DURATION', 8, 1, 600),
    connections: integer(env, 'BENCH_CONNECTIONS', 50, 1, 10_000),
    warmupSec: integer(env, 'BENCH_WARMUP', 2, 0, 60),
    rounds: integer(env, 'BENCH_ROUNDS', 3, 1, 20),
    tool,
    clients: integer(env, 'BENCH_CLIENTS', 10_000, 1, 16_000_000),
    pinCpu: env.BENCH_PIN_CPU ? integer(env, 'BENCH_PIN_CPU', 0, 0, 1_023) : undefined,
  };
}

const progress = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

/** The Palisade targets' rate limit: far above what one of the bench's clients sends (about one request a second). */
const LIMIT = '10r/s';

/**
 * A measured target: its label, server, the processes whose CPU its requests cost (a
 * Palisade primary and its workers, read again at each measurement), and redis-server's.
 */
type Target = { name: string; server: Server; pids: () => Array<number | undefined>; redisPids: Array<number | undefined> };

/** The Palisade targets: which store, how many workers. */
const PALISADE_TARGETS = ['palisade', 'palisade+redis one process', 'palisade+redis', 'palisade+redis 2 workers', 'palisade+cluster'] as const;

async function main(): Promise<void> {
  const config = readConfig(process.env);
  const pin = config.pinCpu;
  const tool = pickTool(config.tool);
  if (tool.name === 'autocannon' && config.tool === 'auto') progress('wrk is not on PATH: falling back to autocannon');
  const withRedis = process.env.BENCH_REDIS !== 'no' && findOnPath('redis-server') !== undefined;
  if (!withRedis) progress('no redis-server (or BENCH_REDIS=no): skipping the USE_REDIS=yes targets');
  const withCluster = withRedis && process.env.BENCH_CLUSTER !== 'no' && findOnPath('redis-cli') !== undefined;
  if (withRedis && !withCluster) progress('no redis-cli (or BENCH_CLUSTER=no): skipping the Redis Cluster target');
  progress('starting upstream, bare http-proxy, the undici ceiling and palisade');
  const upstream = await startTarget('upstream');
  const redis = withRedis ? await startBenchRedis() : undefined;
  const cluster = withCluster ? await startBenchCluster() : undefined;
  // BENCH_PALISADE_ENV="LOG_LEVEL=warn USE_LIMIT_REQ=no" sizes what one feature costs.
  const extra = Object.fromEntries(
    (process.env.BENCH_PALISADE_ENV ?? '')
      .split(/\s+/)
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
  if (Object.keys(extra).length > 0) progress(`palisade targets run with ${JSON.stringify(extra)}`);
  // The WAF off in every target but its own: the figures compare with runs before it, and
  // the WAF's target shows what the CRS costs on top of the same node.
  const secret = { SESSIONS_SECRET: 'bench-sessions-secret-0123456789abcdef', USE_MODSECURITY: 'no', LIMIT_REQ_RATE: LIMIT };
  // One worker: the per-core figures; the 2-worker target shows what workers cost on top.
  // Each target its own key prefix: the targets share one Redis, and must not share buckets
  // or count each other as live nodes (the lease share divides by them).
  const redisEnv = (name: string, workers: string) =>
    redis
      ? {
          WORKERS: workers,
          USE_REDIS: 'yes',
          REDIS_HOST: '127.0.0.1',
          REDIS_PORT: String(redis.port),
          REDIS_KEY_PREFIX: name,
          ...secret,
          NODE_NAME: name,
          ...extra,
        }
      : undefined;
  const clusterEnv = cluster
    ? { WORKERS: '1', USE_REDIS: 'yes', REDIS_CLUSTER: 'yes', REDIS_CLUSTER_NODES: cluster.seeds, ...secret, NODE_NAME: 'bench-cluster', ...extra }
    : undefined;
  const wanted: Array<[string, () => Promise<Server>, Array<number | undefined>]> = [
    ['bare', () => startTarget('bare', upstream.url, pin), []],
    ['ceiling', () => startTarget('ceiling', upstream.url, pin), []],
    ['palisade', () => startPalisade(upstream.url, { WORKERS: '1', USE_MODSECURITY: 'no', LIMIT_REQ_RATE: LIMIT, ...extra }, 'local', pin), []],
    // The OWASP CRS at paranoia level 1 on every request (its cost is the difference with `palisade`).
    [
      'palisade+waf',
      () =>
        startPalisade(
          upstream.url,
          { WORKERS: '1', USE_MODSECURITY: 'yes', MODSECURITY_PARANOIA_LEVEL: '1', LIMIT_REQ_RATE: LIMIT, NODE_NAME: 'bench-waf', ...extra },
          'local',
          pin,
        ),
      [],
    ],
  ];
  const redisZero = redisEnv('bench-redis-0w', '0');
  const redisOne = redisEnv('bench-redis', '1');
  const redisTwo = redisEnv('bench-redis-2w', '2');
  if (redisZero && redisOne && redisTwo) {
    wanted.push(['palisade+redis one process', () => startPalisade(upstream.url, redisZero, 'shared', pin), [redis?.process.child.pid]]);
    wanted.push(['palisade+redis', () => startPalisade(upstream.url, redisOne, 'shared', pin), [redis?.process.child.pid]]);
    wanted.push(['palisade+redis 2 workers', () => startPalisade(upstream.url, redisTwo, 'shared', pin), [redis?.process.child.pid]]);
  }
  if (clusterEnv && cluster)
    wanted.push(['palisade+cluster', () => startPalisade(upstream.url, clusterEnv, 'shared', pin), cluster.servers.map((server) => server.process.child.pid)]);
  // BENCH_ONLY="palisade+redis,…" measures those next to bare and the ceiling (the ratios' baselines).
  const only = (process.env.BENCH_ONLY ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const chosen = wanted.filter(([name]) => only.length === 0 || name === 'bare' || name === 'ceiling' || only.includes(name));
  // allSettled, not all: a failure of one must not leave another starting after the cleanup ran.
  const started = await Promise.allSettled(chosen.map(([, start]) => start()));
  for (const outcome of started) if (outcome.status === 'rejected') throw outcome.reason;
  const targets: Target[] = chosen.map(([name, , redisPids], i) => {
    const server = (started[i] as PromiseFulfilledResult<Server>).value;
    return { name, server, pids: () => processTree(server.process.child.pid), redisPids };
  });
  /** CPU seconds so far of the target's own processes and of redis-server; undefined without /proc. */
  const cpuOf = (target: Target): { own: number; redis: number } | undefined => {
    const own = target.pids().map(cpuSeconds);
    const inRedis = target.redisPids.map(cpuSeconds);
    if ([...own, ...inRedis].some((seconds) => seconds === undefined)) return undefined;
    const sum = (list: Array<number | undefined>): number => list.reduce<number>((total, seconds) => total + seconds!, 0);
    return { own: sum(own), redis: sum(inRedis) };
  };
  for (const { name, server } of targets) await checkAnswersOk(name, server);

  // Every target gets the same traffic: the clients' IPs in X-Forwarded-For (the bare proxy
  // ignores it; Palisade trusts the loader), each client far below its limit.
  const load = (server: Server, durationSec: number): Promise<LoadResult> =>
    runLoad(tool, { url: server.url, connections: config.connections, durationSec, clients: config.clients });
  if (config.warmupSec > 0) {
    for (const { name, server } of targets) {
      progress(`warm-up ${name} ${config.warmupSec}s`);
      await load(server, config.warmupSec);
    }
  }
  const runs = new Map<string, LoadResult[]>(targets.map((t) => [t.name, []]));
  // Per round: each target's req/s over bare's and over the ceiling's in the same round
  // (paired, so a slow stretch of the machine hits both), and CPU µs per request.
  const roundRatios = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const ceilingRatios = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const cpuPerRequest = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  /** The part of a Redis target's CPU per request spent in redis-server. */
  const redisCpuPerRequest = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const palisades = targets.filter((t) => (PALISADE_TARGETS as readonly string[]).includes(t.name));
  /** Request-path Redis round trips and worker messages before the rounds, and requests sent, per Palisade target. */
  const countersBefore = new Map<string, Counts>();
  for (const target of palisades) countersBefore.set(target.name, await counters(target.server));
  const requestsSent = new Map<string, number>();
  for (let round = 0; round < config.rounds; round++) {
    // Rotate the order so a drift in machine load (a neighbour, thermal) hits all alike.
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    const roundRps = new Map<string, number>();
    for (const target of order) {
      const { name, server } = target;
      const cpuBefore = cpuOf(target);
      const result = await load(server, config.durationSec);
      const cpuAfter = cpuOf(target);
      if (cpuBefore !== undefined && cpuAfter !== undefined && result.rps > 0) {
        const requests = result.rps * config.durationSec;
        cpuPerRequest.get(name)!.push(((cpuAfter.own - cpuBefore.own + cpuAfter.redis - cpuBefore.redis) * 1e6) / requests);
        redisCpuPerRequest.get(name)!.push(((cpuAfter.redis - cpuBefore.redis) * 1e6) / requests);
      }
      roundRps.set(name, result.rps);
      runs.get(name)!.push(result);
      requestsSent.set(name, (requestsSent.get(name) ?? 0) + result.rps * config.durationSec);
      progress(
        `round ${round + 1}/${config.rounds} ${name}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(2)} ms, ${result.errors} errors${result.errorKinds ? ` (${result.errorKinds})` : ''}`,
      );
    }
    for (const { name } of targets.slice(1)) roundRatios.get(name)!.push(roundRps.get(name)! / roundRps.get('bare')!);
    for (const { name } of targets) ceilingRatios.get(name)!.push(roundRps.get(name)! / roundRps.get('ceiling')!);
  }
  const tripsPerRequest = new Map<string, number>();
  const messagesPerRequest = new Map<string, number>();
  const leasesPerRequest = new Map<string, { granted: number; returned: number; exhausted: number }>();
  for (const target of palisades) {
    const requests = requestsSent.get(target.name) ?? 0;
    if (requests === 0) continue;
    const before = countersBefore.get(target.name)!;
    const after = await counters(target.server);
    if (target.redisPids.length > 0) tripsPerRequest.set(target.name, (after.trips - before.trips) / requests);
    if (!target.name.includes('one process')) messagesPerRequest.set(target.name, (after.messages - before.messages) / requests);
    leasesPerRequest.set(target.name, {
      granted: (after.granted - before.granted) / requests,
      returned: (after.returned - before.returned) / requests,
      exhausted: (after.exhausted - before.exhausted) / requests,
    });
  }

  // With the targets idle: what one message between two processes costs on this machine.
  const messageCost = messagesPerRequest.size > 0 ? await measureMessageCost() : undefined;
  const summaries = targets.map((t) => summarize(t.name, runs.get(t.name)!));
  if (summaries.some((s) => s.errors > 0)) progress('WARNING: errors during the runs; the figures are suspect');
  // The headline ratios: the median of the per-round (paired) ratios.
  const ratios = Object.fromEntries(summaries.slice(1).map((s) => [s.name, median(roundRatios.get(s.name)!)]));
  const toCeiling = Object.fromEntries(summaries.filter((s) => s.name !== 'ceiling').map((s) => [s.name, median(ceilingRatios.get(s.name)!)]));
  const cpu = Object.fromEntries(
    targets.flatMap((t) => (cpuPerRequest.get(t.name)!.length === config.rounds ? [[t.name, median(cpuPerRequest.get(t.name)!)]] : [])),
  );
  const cpuLines = Object.entries(cpu).map(([name, us]) => {
    const inRedis = median(redisCpuPerRequest.get(name)!);
    const vsCeiling = name === 'ceiling' || cpu.ceiling === undefined ? '' : `, ${(us / cpu.ceiling).toFixed(2)}× the ceiling's`;
    return `${name}: ${us.toFixed(1)} µs CPU per request${inRedis > 0 ? ` (${inRedis.toFixed(1)} of it in redis-server)` : ''}${vsCeiling}`;
  });
  const one = cpu['palisade+redis'];
  const two = cpu['palisade+redis 2 workers'];
  process.stdout.write(
    `${tool.name}, ${config.connections} connections, ${config.rounds} rounds of ${config.durationSec}s, medians; ${config.clients} clients at random, limit ${LIMIT}${pin !== undefined ? `; each server on CPU ${pin}` : ''}\n` +
      `${formatTable(summaries, ratios)}\n` +
      Object.entries(toCeiling)
        .map(([name, ratio]) => `${name}/ceiling req/s: ${ratio.toFixed(3)}\n`)
        .join('') +
      cpuLines.map((line) => `${line}\n`).join('') +
      (one !== undefined && two !== undefined
        ? `2 workers cost ${(two / one).toFixed(2)}× the CPU per request of 1 (these 2 cores also run the load generator, the upstream and Redis: throughput cannot scale here)\n`
        : '') +
      [...tripsPerRequest].map(([name, trips]) => `${name}: ${trips.toFixed(3)} Redis round trips per request\n`).join('') +
      [...messagesPerRequest]
        .map(
          ([name, messages]) =>
            `${name}: ${messages.toFixed(3)} worker messages per request${messageCost ? ` (≈ ${(messages * messageCost.cpuUsPerMessage).toFixed(1)} µs of CPU per request)` : ''}\n`,
        )
        .join('') +
      [...leasesPerRequest]
        .map(
          ([name, l]) =>
            `${name}: rate leases per request: ${l.granted.toFixed(3)} granted, ${l.returned.toFixed(3)} returned, ${l.exhausted.toFixed(3)} exhausted\n`,
        )
        .join('') +
      (messageCost
        ? `one message between two processes (a batch of 16 calls or its answer, one round trip a millisecond): ${messageCost.cpuUsPerMessage.toFixed(1)} µs of CPU, both ends\n`
        : '') +
      `${summaryJson(summaries, ratios, {
        tool: tool.name,
        connections: config.connections,
        duration_s: config.durationSec,
        rounds: config.rounds,
        ...Object.fromEntries(Object.entries(toCeiling).map(([name, ratio]) => [`${key(name)}_ceiling_ratio`, Number(ratio.toFixed(3))])),
        ...Object.fromEntries([...tripsPerRequest].map(([name, trips]) => [`${key(name)}_round_trips_per_request`, Number(trips.toFixed(3))])),
        ...Object.fromEntries([...messagesPerRequest].map(([name, messages]) => [`${key(name)}_worker_messages_per_request`, Number(messages.toFixed(3))])),
        ...Object.fromEntries([...leasesPerRequest].map(([name, l]) => [`${key(name)}_leases_granted_per_request`, Number(l.granted.toFixed(3))])),
        clients: config.clients,
        ...cpuJson(cpu),
        ...(messageCost ? { message_cpu_us: Number(messageCost.cpuUsPerMessage.toFixed(1)) } : {}),
      })}\n`,
  );
  redis?.client.disconnect();
  for (const server of cluster?.servers ?? []) server.client.disconnect();
}

const key = (name: string): string => name.replace(/\W+/g, '_');

/** `<target>_cpu_us` (CPU µs per request, median) and `<target>_cpu_vs_ceiling` (the target's over the ceiling's). */
function cpuJson(cpu: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, us] of Object.entries(cpu)) {
    out[`${key(name)}_cpu_us`] = Number(us.toFixed(1));
    if (name !== 'ceiling' && cpu.ceiling !== undefined) out[`${key(name)}_cpu_vs_ceiling`] = Number((us / cpu.ceiling).toFixed(3));
  }
  return out;
}

/** What a Palisade counted so far. */
interface Counts {
  /** Request-path Redis round trips (its command histogram, less the calls never sent). */
  trips: number;
  /** Messages between its workers and its primary, both ways. */
  messages: number;
  /** Rate leases, by event. */
  granted: number;
  returned: number;
  exhausted: number;
}

async function counters(server: Server): Promise<Counts> {
  const { body } = await getOnce(new URL('/metrics', server.adminUrl));
  const sum = (pattern: RegExp): number => [...body.matchAll(pattern)].reduce((total, match) => total + Number(match[1]), 0);
  const leases = (event: string): number => sum(new RegExp(`^palisade_rate_leases_total\\{[^}]*event="${event}"[^}]*\\} (\\d+)`, 'gm'));
  return {
    trips: sum(/^palisade_redis_command_duration_seconds_count\{(?![^}]*outcome="unavailable")[^}]*\} (\d+)/gm),
    messages: sum(/^palisade_worker_messages_total\{[^}]*\} (\d+)/gm),
    granted: leases('granted'),
    returned: leases('returned'),
    exhausted: leases('exhausted'),
  };
}

runBench(main);
