import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runAutocannon } from './autocannon.js';
import { runWrk } from './wrk.js';

/** One load run against one URL. */
export interface LoadOptions {
  url: URL;
  connections: number;
  durationSec: number;
  /**
   * Send every request with a random `X-Forwarded-For` (a million-odd client IPs), so a
   * proxy that trusts the loader sees many clients and per-client limits never trigger.
   */
  spreadClients?: boolean;
}

/** What a load run measured. */
export interface LoadResult {
  /** Requests per second over the run. */
  rps: number;
  /** 99th percentile latency in milliseconds. */
  p99Ms: number;
  /** Socket errors, timeouts and non-2xx/3xx answers: any of them means the figures are suspect. */
  errors: number;
  /** What the errors were (e.g. `timeout 1, non-2xx 2`), when there were any. */
  errorKinds?: string;
}

/** A load generator: wrk when installed (native, leaves the most CPU to the servers), else autocannon. */
export type LoadTool = { name: 'wrk'; path: string } | { name: 'autocannon' };

/** The absolute path of `command` on PATH, or undefined. */
export function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/** Picks the tool: `preference` 'auto' means wrk if it is on PATH, else autocannon. */
export function pickTool(preference: 'auto' | 'wrk' | 'autocannon'): LoadTool {
  if (preference === 'autocannon') return { name: 'autocannon' };
  const path = findOnPath('wrk');
  if (path) return { name: 'wrk', path };
  if (preference === 'wrk') throw new Error('BENCH_TOOL=wrk but wrk is not on PATH');
  return { name: 'autocannon' };
}

/** Runs one load with `tool`. */
export function runLoad(tool: LoadTool, options: LoadOptions): Promise<LoadResult> {
  return tool.name === 'wrk' ? runWrk(tool.path, options) : runAutocannon(options);
}
