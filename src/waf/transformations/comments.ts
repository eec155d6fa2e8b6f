/** Comment transformations: `t:removeComments`, `t:replaceComments`, `t:removeCommentsChar`. */

/**
 * `t:removeComments` — deletes `/* … *\/` and `<!-- … -->` (an unterminated one runs to
 * the end), and everything from `--` or `#` to the end of the input.
 */
export function removeComments(input: string): string {
  let out = '';
  let i = 0;
  const n = input.length;
  while (i < n) {
    if (input.startsWith('/*', i)) {
      const end = input.indexOf('*/', i + 2);
      if (end < 0) break;
      i = end + 2;
    } else if (input.startsWith('<!--', i)) {
      const end = input.indexOf('-->', i + 4);
      if (end < 0) break;
      i = end + 3;
    } else if (input.startsWith('--', i) || input[i] === '#') {
      break;
    } else {
      out += input[i];
      i++;
    }
  }
  return out;
}

/** `t:replaceComments` — each C comment `/* … *\/` (or unterminated `/*…`) becomes one space. */
export function replaceComments(input: string): string {
  if (!input.includes('/*')) return input;
  let out = '';
  let i = 0;
  while (i < input.length) {
    const start = input.indexOf('/*', i);
    if (start < 0) {
      out += input.slice(i);
      break;
    }
    out += input.slice(i, start) + ' ';
    const end = input.indexOf('*/', start + 2);
    if (end < 0) break;
    i = end + 2;
  }
  return out;
}

/** `t:removeCommentsChar` — deletes the comment markers `/*`, `*\/`, `<!--`, `-->`, `--`, `#`. */
export function removeCommentsChar(input: string): string {
  return input.replace(/\/\*|\*\/|<!--|-->|--|#/g, '');
}
