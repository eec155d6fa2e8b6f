import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'dotenv';

/**
 * The variables Palisade reads: `.env` in `cwd` (when present) under the real environment,
 * which wins. dotenv's parser is used directly, so nothing is printed and `process.env` is
 * left untouched.
 */
export function readEnvironment(env: NodeJS.ProcessEnv, cwd: string): Record<string, string> {
  const merged: Record<string, string> = {};
  const dotenvPath = join(cwd, '.env');
  if (existsSync(dotenvPath)) Object.assign(merged, parse(readFileSync(dotenvPath)));
  for (const [name, value] of Object.entries(env)) if (value !== undefined) merged[name] = value;
  return merged;
}
