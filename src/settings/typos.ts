/**
 * Suggests the known setting an unknown variable was probably meant to be (`REDIS_PROT` →
 * `REDIS_PORT`). Only names that look like settings (upper case, an underscore) and are
 * within a small edit distance of a known one are reported, so unrelated variables of the
 * environment (PATH, HOSTNAME, …) never are.
 */
export function suggestSetting(unknown: string, known: Iterable<string>): string | undefined {
  if (!/^[A-Z][A-Z0-9]*_[A-Z0-9_]+$/.test(unknown) || unknown.length < 6) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const budget = Math.min(name.length >= 12 ? 2 : 1, bestDistance - 1);
    if (Math.abs(unknown.length - name.length) > budget || bagDistance(unknown, name) > budget) continue;
    const distance = editDistance(unknown, name, budget);
    if (distance <= budget) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

const counts = new Int32Array(128);

/**
 * A lower bound of the edit distance, in one pass: the characters one name has more of than
 * the other (each needs an edit). Most names of the environment are ruled out here.
 */
function bagDistance(a: string, b: string): number {
  for (let i = 0; i < a.length; i++) counts[a.charCodeAt(i) & 127]!++;
  for (let i = 0; i < b.length; i++) counts[b.charCodeAt(i) & 127]!--;
  // Over the characters of each name only; each count is read once, then cleared.
  let extraA = 0;
  let extraB = 0;
  for (const name of [a, b]) {
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i) & 127;
      const n = counts[c]!;
      if (n > 0) extraA += n;
      else extraB -= n;
      counts[c] = 0;
    }
  }
  return Math.max(extraA, extraB);
}

/** Rows of the distance table, reused: every process environment is checked at each start (and reload). */
let rows: [Int32Array, Int32Array, Int32Array] = [new Int32Array(64), new Int32Array(64), new Int32Array(64)];

/**
 * Optimal string alignment distance (insertions, deletions, substitutions, adjacent swaps)
 * when it is at most `budget`; otherwise some value above it (the walk stops as soon as
 * every alignment costs more).
 */
function editDistance(a: string, b: string, budget: number): number {
  if (b.length + 1 > rows[0].length) rows = [new Int32Array(b.length + 1), new Int32Array(b.length + 1), new Int32Array(b.length + 1)];
  let [beforePrevious, previous, row] = rows;
  for (let j = 0; j <= b.length; j++) previous[j] = j;
  for (let i = 1; i <= a.length; i++) {
    row[0] = i;
    let lowest = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let value = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) {
        value = Math.min(value, beforePrevious[j - 2]! + 1);
      }
      row[j] = value;
      if (value < lowest) lowest = value;
    }
    if (lowest > budget) return budget + 1;
    const free = beforePrevious;
    beforePrevious = previous;
    previous = row;
    row = free;
  }
  return previous[b.length]!;
}
