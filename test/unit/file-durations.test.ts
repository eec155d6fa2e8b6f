import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFileDurations } from '../../scripts/file-durations.js';
import { packageRoot } from '../../src/paths.js';

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith('.test.ts') ? [relative(packageRoot, path)] : [];
  });
}

/**
 * The suite runs its longest files first, by the committed table (test/helpers/longest-first.ts):
 * a file missing from it runs first as an unknown, a file gone from the repository is stale.
 * Refresh the table with `npm run test:soak -- --write-durations`.
 */
describe('the table of test file durations', () => {
  it('names every test file of the repository, and only those', () => {
    const table = Object.keys(readFileDurations().seconds).sort();
    const files = testFiles(join(packageRoot, 'test')).sort();
    expect(table).toEqual(files);
  });
});
