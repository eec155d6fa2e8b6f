import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Integration tests run the built CLI: refuse to start on a missing build rather than time out. */
export default function setup(): void {
  const cli = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'index.js');
  if (!existsSync(cli) || statSync(cli).size === 0) {
    throw new Error('dist/ is missing: run `npm test` (it builds) or `npm run build` first');
  }
}
