/** The committed table of how long each test file takes, which the suite orders its files by. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/paths.js';

/** Where the table is kept (written by `npm run test:soak -- --write-durations`). */
export const DURATIONS_FILE = join(packageRoot, 'test', 'file-durations.json');

/** Seconds per test file, keyed by its path relative to the repository root. */
export interface FileDurations {
  about: string;
  seconds: Record<string, number>;
}

/** Reads the table; a missing or unreadable one is empty (every file then counts as unknown). */
export function readFileDurations(): FileDurations {
  try {
    return JSON.parse(readFileSync(DURATIONS_FILE, 'utf8')) as FileDurations;
  } catch {
    return { about: '', seconds: {} };
  }
}
