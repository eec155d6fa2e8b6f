import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';

/**
 * The formatter's line width holds for every source file of the repository
 * (`.prettierrc.json`; prose, generated and deployment files are in `.prettierignore`).
 * Run `npm run format` when this fails.
 */
describe('formatting', () => {
  it('leaves every source file as it is', { timeout: 120_000 }, () => {
    const run = spawnSync(process.execPath, [join(packageRoot, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), '--list-different', '.'], {
      cwd: packageRoot,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    // --list-different names each file it would change, one a line, and exits 1 when there is one.
    expect(run.stdout.split('\n').filter(Boolean)).toEqual([]);
    expect(run.status).toBe(0);
  });
});
