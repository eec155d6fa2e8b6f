import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../../src/paths.js';

/** Every TypeScript source file of the product (src/ and plugins/, not the tests), path → text. */
export function productSources(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) files.set(relative(packageRoot, path), readFileSync(path, 'utf8'));
    }
  };
  walk(join(packageRoot, 'src'));
  walk(join(packageRoot, 'plugins'));
  return files;
}

/** The text without comments, so a name mentioned in a comment does not count as code. */
export function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}
