import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root (the folder holding package.json), found by walking up from this module.
 * Works the same from `src/` under vitest and from `dist/src/` after the build, so JSON
 * manifests are read from one place whichever way the code runs.
 */
export const packageRoot: string = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package.json not found above ${start}`);
    dir = parent;
  }
}

/** Reads and parses a JSON file given relative to the package root. */
export function readPackageJson<T>(relativePath: string): T {
  return JSON.parse(readFileSync(join(packageRoot, relativePath), 'utf8')) as T;
}
