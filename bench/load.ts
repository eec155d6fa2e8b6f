import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runAutocannon } from './autocannon.js';
import type { LoadOptions, LoadResult } from './report.js';
import { runWrk } from './wrk.js';

export type { LoadOptions, LoadResult } from './report.js';

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
