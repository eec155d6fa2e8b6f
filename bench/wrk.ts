import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnTracked, stopTracked } from './children.js';
import type { LoadOptions, LoadResult } from './report.js';

/** Seconds wrk may overrun its duration (start-up, final timeouts) before it is killed. */
const OVERRUN_SEC = 15;

const spreadScripts = new Map<number, string>();

/** A wrk Lua script giving each request one of `clients` client IPs, at random, in X-Forwarded-For. */
function spreadScript(clients: number): string {
  let path = spreadScripts.get(clients);
  if (!path) {
    path = join(mkdtempSync(join(tmpdir(), 'palisade-wrk-')), 'spread.lua');
    writeFileSync(
      path,
      `math.randomseed(os.time())\nrequest = function()\n` +
        `  local n = math.random(0, ${clients - 1})\n` +
        '  wrk.headers["X-Forwarded-For"] = "10." .. math.floor(n / 65536) .. "." .. (math.floor(n / 256) % 256) .. "." .. (n % 256)\n' +
        '  return wrk.format()\nend\n',
    );
    spreadScripts.set(clients, path);
  }
  return path;
}

/**
 * Runs wrk with one thread (one native thread saturates a Node proxy, and on a small machine
 * every other core is better left to the servers) and `--latency` for the percentiles.
 */
export async function runWrk(wrkPath: string, options: LoadOptions): Promise<LoadResult> {
  const args = ['-t1', `-c${options.connections}`, `-d${options.durationSec}s`, '--timeout', '5s', '--latency'];
  if (options.clients) args.push('-s', spreadScript(options.clients));
  args.push(options.url.href);
  const tracked = spawnTracked('wrk', wrkPath, args, { stdout: 'pipe' });
  let stdout = '';
  tracked.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const guard = setTimeout(() => void stopTracked(tracked, 1000), (options.durationSec + OVERRUN_SEC) * 1000);
  const code = await tracked.exited;
  clearTimeout(guard);
  if (code !== 0) throw new Error(`wrk exited with ${code}: ${tracked.stderr() || stdout}`);
  return parseWrk(stdout);
}

/** Parses wrk's report (the `--latency` variant); throws when a figure is missing. */
export function parseWrk(output: string): LoadResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  const p99 = /^\s*99(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$/m.exec(output);
  if (!rps?.[1] || !p99?.[1] || !p99[2]) throw new Error(`cannot read wrk's output:\n${output}`);
  // These lines appear only when something went wrong.
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const kinds: Array<[string, number]> = [
    ...(socket ? (['connect', 'read', 'write', 'timeout'] as const).map((kind, i): [string, number] => [kind, Number(socket[i + 1])]) : []),
    ['non-2xx', non2xx ? Number(non2xx[1]) : 0],
  ];
  const errors = kinds.reduce((sum, [, n]) => sum + n, 0);
  const errorKinds =
    errors > 0
      ? kinds
          .filter(([, n]) => n > 0)
          .map(([kind, n]) => `${kind} ${n}`)
          .join(', ')
      : undefined;
  return { rps: Number(rps[1]), p99Ms: toMs(Number(p99[1]), p99[2]), errors, ...(errorKinds ? { errorKinds } : {}) };
}

const MS_PER_UNIT: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function toMs(value: number, unit: string): number {
  return value * (MS_PER_UNIT[unit] ?? Number.NaN);
}
