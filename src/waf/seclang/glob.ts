/** Minimal glob expansion for `Include` and load options: `*`, `?` and `[…]` in any path segment. */
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';

function segmentRegex(segment: string): RegExp {
  let re = '';
  for (const c of segment) {
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[' || c === ']') re += c;
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp('^' + re + '$');
}

/** True when `path` contains glob characters. */
export function hasGlob(path: string): boolean {
  return /[*?[]/.test(path);
}

/** Expands `pattern` (relative to `baseDir`) into existing files, sorted like ModSecurity (by name). */
export function expandGlob(pattern: string, baseDir: string): string[] {
  const full = isAbsolute(pattern) ? pattern : resolve(baseDir, pattern);
  if (!hasGlob(full)) return [full];
  const parts = full.split(sep);
  let current = [parts[0] === '' ? sep : (parts[0] as string)];
  for (const part of parts.slice(1)) {
    if (part === '') continue;
    const next: string[] = [];
    for (const dir of current) {
      if (!hasGlob(part)) {
        next.push(join(dir, part));
        continue;
      }
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        continue;
      }
      const re = segmentRegex(part);
      for (const e of entries.sort()) if (re.test(e)) next.push(join(dir, e));
    }
    current = next;
  }
  return current.filter((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}
