/**
 * `npm run bench`: req/s and p99 latency of Palisade (default plugins, access log on) with
 * the local store and with `USE_REDIS=yes`, next to a bare http-proxy, all in front of the
 * same trivial upstream, on 127.0.0.1, each in its own process. Clients are spread over many
 * IPs so limits do not trigger. The ratio to bare is taken per round (each target against
 * bare's run of the same round) and the median of those is reported; CPU time per request
 * of each target's processes (Redis's too) is reported beside it: a neighbour taking the
 * CPU away changes req/s, not the work per request. Prints a table, then one JSON line (the
 * last line of stdout); progress goes to stderr. BENCH_REDIS=no skips the Redis targets, BENCH_CLUSTER=no the Redis Cluster one (3 masters, no replicas); BENCH_PALISADE_ENV adds
 * settings to the Palisade targets (e.g. `LOG_LEVEL=warn` to size the access log's cost).
 *
 * Environment: BENCH_DURATION (seconds per measured run, 8), BENCH_CONNECTIONS (50),
 * BENCH_WARMUP (seconds, once per target, 2), BENCH_ROUNDS (3), BENCH_TOOL (auto | wrk |
 * autocannon; auto takes wrk when it is on PATH).
 */
import { runBench } from './children.js';
import { cpuSeconds } from './cpu.js';
import { checkAnswersOk, getOnce, startPalisade, startTarget, type Server } from './launch.js';
import { findOnPath, pickTool, runLoad, type LoadResult } from './load.js';
import { startBenchCluster, startBenchRedis } from './redis-server.js';
import { formatTable, median, summarize, summaryJson } from './report.js';

/** The bench's knobs, read from the environment. */
export interface BenchConfig {
  durationSec: number;
  connections: number;
  warmupSec: number;
  rounds: number;
  tool: 'auto' | 'wrk' | 'autocannon';
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
  };
}

const progress = (message: string): void => void process.stderr.write(`bench: ${message}\n`);

/** A measured target: its label, server, and every process whose CPU its requests cost. */
type Target = { name: string; server: Server; pids: Array<number | undefined> };

async function main(): Promise<void> {
  const config = readConfig(process.env);
  const tool = pickTool(config.tool);
  if (tool.name === 'autocannon' && config.tool === 'auto') progress('wrk is not on PATH: falling back to autocannon');
  const withRedis = process.env.BENCH_REDIS !== 'no' && findOnPath('redis-server') !== undefined;
  if (!withRedis) progress('no redis-server (or BENCH_REDIS=no): skipping the USE_REDIS=yes target');
  const withCluster = withRedis && process.env.BENCH_CLUSTER !== 'no' && findOnPath('redis-cli') !== undefined;
  if (withRedis && !withCluster) progress('no redis-cli (or BENCH_CLUSTER=no): skipping the Redis Cluster target');
  progress('starting upstream, bare http-proxy and palisade');
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
  const redisEnv = redis
    ? { USE_REDIS: 'yes', REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port), SESSIONS_SECRET: 'bench-sessions-secret-0123456789abcdef', NODE_NAME: 'bench-redis', ...extra }
    : undefined;
  const clusterEnv = cluster
    ? { USE_REDIS: 'yes', REDIS_CLUSTER: 'yes', REDIS_CLUSTER_NODES: cluster.seeds, SESSIONS_SECRET: 'bench-sessions-secret-0123456789abcdef', NODE_NAME: 'bench-cluster', ...extra }
    : undefined;
  // allSettled, not all: a failure of one must not leave another starting after the cleanup ran.
  const started = await Promise.allSettled([
    startTarget('bare', upstream.url),
    startPalisade(upstream.url, extra),
    ...(redisEnv ? [startPalisade(upstream.url, redisEnv, 'shared')] : []),
    ...(clusterEnv ? [startPalisade(upstream.url, clusterEnv, 'shared')] : []),
  ]);
  for (const outcome of started) if (outcome.status === 'rejected') throw outcome.reason;
  const servers = started.map((outcome) => (outcome as PromiseFulfilledResult<Server>).value);
  const targets: Target[] = [
    { name: 'bare', server: servers[0]!, pids: [servers[0]!.process.child.pid] },
    { name: 'palisade', server: servers[1]!, pids: [servers[1]!.process.child.pid] },
    // Redis's work for the rate limit is part of what a request costs.
    ...(servers[2] ? [{ name: 'palisade+redis', server: servers[2], pids: [servers[2].process.child.pid, redis?.process.child.pid] }] : []),
    ...(servers[3] && cluster ? [{ name: 'palisade+cluster', server: servers[3], pids: [servers[3].process.child.pid, ...cluster.servers.map((s) => s.process.child.pid)] }] : []),
  ];
  /** CPU seconds so far of each of the target's processes; undefined without /proc. */
  const cpuOf = (target: Target): number[] | undefined => {
    const seconds = target.pids.map(cpuSeconds);
    return seconds.some((s) => s === undefined) ? undefined : (seconds as number[]);
  };
  for (const { name, server } of targets) await checkAnswersOk(name, server);

  // Every target gets the same traffic: many client IPs in X-Forwarded-For (the bare proxy
  // ignores it; Palisade trusts the loader), so per-client limits never trigger.
  const load = (server: Server, durationSec: number): Promise<LoadResult> =>
    runLoad(tool, { url: server.url, connections: config.connections, durationSec, spreadClients: true });
  if (config.warmupSec > 0) {
    for (const { name, server } of targets) {
      progress(`warm-up ${name} ${config.warmupSec}s`);
      await load(server, config.warmupSec);
    }
  }
  const runs = new Map<string, LoadResult[]>(targets.map((t) => [t.name, []]));
  // Per round: each target's req/s over bare's in the same round (paired, so a slow stretch
  // of the machine hits both), and CPU µs per request.
  const roundRatios = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const cpuPerRequest = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  /** For palisade+redis and palisade+cluster: the part of its CPU per request spent in redis-server. */
  const redisCpuPerRequest = new Map<string, number[]>([
    ['palisade+redis', []],
    ['palisade+cluster', []],
  ]);
  /** Request-path round trips before the rounds, and requests sent, per Redis target. */
  const tripsBefore = new Map<string, number>();
  for (const target of targets.slice(2)) tripsBefore.set(target.name, await roundTrips(target.server));
  const redisRequests = new Map<string, number>();
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
        const perRequest = (i: number): number => ((cpuAfter[i]! - cpuBefore[i]!) * 1e6) / (result.rps * config.durationSec);
        cpuPerRequest.get(name)!.push(cpuAfter.reduce((sum, _, i) => sum + perRequest(i), 0));
        redisCpuPerRequest.get(name)?.push(cpuAfter.slice(1).reduce((sum, _, i) => sum + perRequest(i + 1), 0));
      }
      roundRps.set(name, result.rps);
      runs.get(name)!.push(result);
      if (tripsBefore.has(name)) redisRequests.set(name, (redisRequests.get(name) ?? 0) + result.rps * config.durationSec);
      progress(`round ${round + 1}/${config.rounds} ${name}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(2)} ms, ${result.errors} errors${result.errorKinds ? ` (${result.errorKinds})` : ''}`);
    }
    for (const { name } of targets.slice(1)) roundRatios.get(name)!.push(roundRps.get(name)! / roundRps.get('bare')!);
  }
  const tripsPerRequest = new Map<string, number>();
  for (const target of targets.slice(2)) {
    const requests = redisRequests.get(target.name) ?? 0;
    if (requests > 0) tripsPerRequest.set(target.name, ((await roundTrips(target.server)) - tripsBefore.get(target.name)!) / requests);
  }

  const summaries = targets.map((t) => summarize(t.name, runs.get(t.name)!));
  const bare = summaries[0]!;
  if (summaries.some((s) => s.errors > 0)) progress('WARNING: errors during the runs; the figures are suspect');
  // The headline ratio: the median of the per-round (paired) ratios.
  const ratios = Object.fromEntries(summaries.slice(1).map((s) => [s.name, median(roundRatios.get(s.name)!)]));
  const cpu = Object.fromEntries(targets.flatMap((t) => (cpuPerRequest.get(t.name)!.length === config.rounds ? [[t.name, median(cpuPerRequest.get(t.name)!)]] : [])));
  const cpuLines = Object.entries(cpu).map(
    ([name, us]) => {
      const inRedis = redisCpuPerRequest.get(name) ?? [];
      return `${name}: ${us.toFixed(1)} µs CPU per request${inRedis.length > 0 ? ` (${median(inRedis).toFixed(1)} of it in redis-server)` : ''}${name === 'bare' || cpu.bare === undefined ? '' : `, bare/${name} ${(cpu.bare / us).toFixed(3)}`}`;
    },
  );
  process.stdout.write(
    `${tool.name}, ${config.connections} connections, ${config.rounds} rounds of ${config.durationSec}s, medians; clients spread over many IPs\n` +
      `${formatTable(summaries, ratios)}\n` +
      summaries
        .slice(1)
        .map((s) => `${s.name}/bare per round: ${roundRatios.get(s.name)!.map((r) => r.toFixed(3)).join(' ')}\n`)
        .join('') +
      cpuLines.map((line) => `${line}\n`).join('') +
      [...tripsPerRequest].map(([name, trips]) => `${name}: ${trips.toFixed(3)} Redis round trips per request\n`).join('') +
      `${summaryJson(summaries, ratios, {
        tool: tool.name,
        connections: config.connections,
        duration_s: config.durationSec,
        rounds: config.rounds,
        ...Object.fromEntries([...tripsPerRequest].map(([name, trips]) => [`${name.replace(/\W+/g, '_')}_round_trips_per_request`, Number(trips.toFixed(3))])),
        ...cpuJson(cpu),
      })}\n`,
  );
  redis?.client.disconnect();
  for (const server of cluster?.servers ?? []) server.client.disconnect();
}

/** `<target>_cpu_us` (CPU µs per request, median) and `<target>_cpu_ratio` (bare's over the target's). */
function cpuJson(cpu: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, us] of Object.entries(cpu)) {
    const key = name.replace(/\W+/g, '_');
    out[`${key}_cpu_us`] = Number(us.toFixed(1));
    if (name !== 'bare' && cpu.bare !== undefined) out[`${key}_cpu_ratio`] = Number((cpu.bare / us).toFixed(3));
  }
  return out;
}

/** Request-path Redis round trips a Palisade counted (sum of its command histogram). */
async function roundTrips(server: Server): Promise<number> {
  const { body } = await getOnce(new URL('/metrics', server.adminUrl));
  let total = 0;
  for (const match of body.matchAll(/^palisade_redis_command_duration_seconds_count\{[^}]*\} (\d+)/gm)) total += Number(match[1]);
  return total;
}

runBench(main);
