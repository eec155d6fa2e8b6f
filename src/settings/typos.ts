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
    const budget = name.length >= 12 ? 2 : 1;
    const distance = editDistance(unknown, name);
    if (distance <= budget && distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return Infinity;
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) (rows[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    const prev = rows[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = value;
    }
  }
  return (rows[a.length] as number[])[b.length] as number;
}
