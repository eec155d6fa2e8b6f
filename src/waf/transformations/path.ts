/** Path normalisation: `t:normalisePath` / `t:normalizePath` and the Windows variants. */

/**
 * Collapses repeated slashes, drops `.` segments and resolves `..` against the previous
 * segment. `..` that would climb above the start is dropped for absolute paths and kept
 * for relative ones. A trailing slash is kept.
 */
export function normalisePath(input: string): string {
  // Fast path: nothing to collapse or resolve.
  if (!/\/\/|(?:^|\/)\.\.?(?:\/|$)/.test(input)) return input;
  const absolute = input.startsWith('/');
  const trailing = /\/\.{0,2}$/.test(input) && input !== '/';
  const parts = input.split('/');
  const out: string[] = [];
  for (const part of parts) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      const last = out[out.length - 1];
      if (last !== undefined && last !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(part);
  }
  let result = (absolute ? '/' : '') + out.join('/');
  if (trailing && out.length > 0) result += '/';
  return result;
}

/** `t:normalisePathWin` — backslashes become slashes, then `normalisePath`. */
export function normalisePathWin(input: string): string {
  return normalisePath(input.replace(/\\/g, '/'));
}
