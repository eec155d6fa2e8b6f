/**
 * `npm run bench`: req/s and p99 latency of Palisade (default plugins, access log on) next to
 * a bare http-proxy, both in front of the same trivial upstream, all on 127.0.0.1 and each in
 * its own process. Prints a table, then one JSON line (the last line of stdout); progress
 * goes to stderr.
 *
 * Environment: BENCH_DURATION (seconds per measured run, 8), BENCH_CONNECTIONS (50),
 * BENCH_WARMUP (seconds, once per target, 2), BENCH_ROUNDS (3), BENCH_TOOL (auto | wrk |
 * autocannon; auto takes wrk when it is on PATH).
 */
import { runBench } from './children.js';
import { checkAnswersOk, startPalisade, startTarget, type Server } from './launch.js';
import { pickTool, runLoad, type LoadResult } from './load.js';
import { formatTable, summarize, summaryJson } from './report.js';

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

async function main(): Promise<void> {
  const config = readConfig(process.env);
  const tool = pickTool(config.tool);
  if (tool.name === 'autocannon' && config.tool === 'auto') progress('wrk is not on PATH: falling back to autocannon');
  progress('starting upstream, bare http-proxy and palisade');
  const upstream = await startTarget('upstream');
  // allSettled, not all: a failure of one must not leave the other starting after the cleanup ran.
  const started = await Promise.allSettled([startTarget('bare', upstream.url), startPalisade(upstream.url)]);
  for (const outcome of started) if (outcome.status === 'rejected') throw outcome.reason;
  const [bare, palisade] = started.map((outcome) => (outcome as PromiseFulfilledResult<Server>).value) as [Server, Server];
  const targets: Array<{ name: 'bare' | 'palisade'; server: Server }> = [
    { name: 'bare', server: bare },
    { name: 'palisade', server: palisade },
  ];
  for (const { name, server } of targets) await checkAnswersOk(name, server);

  const load = (server: Server, durationSec: number): Promise<LoadResult> =>
    runLoad(tool, { url: server.url, connections: config.connections, durationSec });
  if (config.warmupSec > 0) {
    for (const { name, server } of targets) {
      progress(`warm-up ${name} ${config.warmupSec}s`);
      await load(server, config.warmupSec);
    }
  }
  const runs: Record<'bare' | 'palisade', LoadResult[]> = { bare: [], palisade: [] };
  for (let round = 0; round < config.rounds; round++) {
    // Alternate the order so a drift in machine load (a neighbour, thermal) hits both alike.
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const { name, server } of order) {
      const result = await load(server, config.durationSec);
      runs[name].push(result);
      progress(`round ${round + 1}/${config.rounds} ${name}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(2)} ms, ${result.errors} errors`);
    }
  }

  const bareSummary = summarize('bare', runs.bare);
  const palisadeSummary = summarize('palisade', runs.palisade);
  const ratio = palisadeSummary.rps / bareSummary.rps;
  if (bareSummary.errors + palisadeSummary.errors > 0) progress('WARNING: errors during the runs; the figures are suspect');
  process.stdout.write(
    `${tool.name}, ${config.connections} connections, ${config.rounds} rounds of ${config.durationSec}s, medians\n` +
      `${formatTable([bareSummary, palisadeSummary], ratio)}\n` +
      `${summaryJson(bareSummary, palisadeSummary, ratio, { tool: tool.name, connections: config.connections, duration_s: config.durationSec, rounds: config.rounds })}\n`,
  );
}

runBench(main);
