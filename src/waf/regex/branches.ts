/**
 * Splits a (translated, JavaScript) regex into alternatives: sources such that the regex
 * matches a value exactly when one of them does. `A|B`, and a prefix or suffix around a
 * group of alternatives — `P(?:A|B)S` — distribute: `PAS|PBS`. Nested groups are split
 * the same way (the first splittable group of each sequence).
 *
 * Why: a CRS regex is often a long list of alternatives, some of them expensive
 * (`select.*?\w?user\(` scans to the end of the value after every "select"). With one
 * literal prefilter per alternative (prefilter.ts), only the alternatives whose
 * literals a value contains are run.
 *
 * Only existence is preserved, not which match is found (captures use the whole regex).
 * Patterns with back-references are not split: a reference ties alternatives together.
 */

/** Give up splitting a pattern into more alternatives than this. */
const MAX_ALTERNATIVES = 48;

interface Group {
  /** Index of `(` and of the character after `)`. */
  start: number;
  end: number;
  /** Length of the opening (`(`, `(?:`, `(?<name>`). */
  open: number;
}

/** Index after the class starting at `i` (`[`). */
function skipClass(s: string, i: number): number {
  let j = i + 1;
  while (j < s.length && s[j] !== ']') j += s[j] === '\\' ? 2 : 1;
  return j + 1;
}

/** Top-level `|` positions and plain (capturing or non-capturing, unquantified) top-level groups of `s`. */
function scan(s: string): { bars: number[]; groups: Group[] } | undefined {
  const bars: number[] = [];
  const groups: Group[] = [];
  let depth = 0;
  let start = -1;
  let open = 0;
  let plain = false;
  for (let i = 0; i < s.length;) {
    const c = s[i];
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '[') {
      i = skipClass(s, i);
      continue;
    }
    if (c === '(') {
      if (depth === 0) {
        start = i;
        const named = /^\(\?<([A-Za-z_$][\w$]*)>/.exec(s.slice(i, i + 64));
        if (s.startsWith('(?:', i)) [open, plain] = [3, true];
        else if (named) [open, plain] = [named[0].length, true];
        else if (s[i + 1] === '?') [open, plain] = [0, false];
        else [open, plain] = [1, true];
      }
      depth++;
    } else if (c === ')') {
      depth--;
      if (depth < 0) return undefined;
      const next = s[i + 1];
      if (depth === 0 && plain && (next === undefined || !'*+?{'.includes(next))) groups.push({ start, end: i + 1, open });
    } else if (c === '|' && depth === 0) bars.push(i);
    i++;
  }
  return depth === 0 ? { bars, groups } : undefined;
}

function split(s: string): string[] {
  const found = scan(s);
  if (found === undefined) return [s];
  if (found.bars.length > 0) {
    const pieces: string[] = [];
    let from = 0;
    for (const bar of [...found.bars, s.length]) {
      pieces.push(s.slice(from, bar));
      from = bar + 1;
    }
    const out = pieces.flatMap(split);
    return out.length <= MAX_ALTERNATIVES ? out : pieces;
  }
  for (const g of found.groups) {
    const inner = split(s.slice(g.start + g.open, g.end - 1));
    if (inner.length < 2) continue;
    const before = s.slice(0, g.start + g.open);
    const after = s.slice(g.end - 1);
    return inner.map((alt) => before + alt + after);
  }
  return [s];
}

/** The alternatives of `source`, or undefined when it does not split (or has back-references). */
export function alternativesOf(source: string): string[] | undefined {
  if (/\\[1-9]|\\k</.test(source)) return undefined;
  const out = split(source);
  return out.length >= 2 && out.length <= MAX_ALTERNATIVES ? out : undefined;
}
