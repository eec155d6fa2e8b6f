/** Reads `@pmFromFile` / `@ipMatchFromFile` data files. */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

/**
 * Returns the non-empty, non-comment lines of each space-separated file name in
 * `param`, resolved against `baseDir`; an error message when a file cannot be read.
 * Lines are byte strings (latin1), trailing CR removed.
 */
export function readDataLines(param: string, baseDir: string): string[] | string {
  const lines: string[] = [];
  for (const name of param.split(/\s+/).filter(Boolean)) {
    if (/^https?:\/\//i.test(name)) return `remote data files are not supported: ${name}`;
    const path = isAbsolute(name) ? name : resolve(baseDir, name);
    let text: string;
    try {
      text = readFileSync(path, 'latin1');
    } catch (e) {
      return `cannot read data file ${path}: ${(e as Error).message}`;
    }
    for (const raw of text.split('\n')) {
      const line = raw.replace(/\r$/, '');
      if (line.trim() === '' || line.startsWith('#')) continue;
      lines.push(line);
    }
  }
  return lines;
}
