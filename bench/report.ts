/** One load run against one URL. */
export interface LoadOptions {
  url: URL;
  connections: number;
  durationSec: number;
  /**
   * Send every request with one of this many client IPs, at random, in `X-Forwarded-For`,
   * so a proxy that trusts the loader sees that many clients.
   */
  clients?: number;
}

/** What a load run measured. */
export interface LoadResult {
  /** Requests per second over the run. */
  rps: number;
  /** 99th percentile latency in milliseconds. */
  p99Ms: number;
  /** Socket errors, timeouts and non-2xx/3xx answers: any of them means the figures are suspect. */
  errors: number;
  /** What the errors were (e.g. `timeout 1, non-2xx 2`), when there were any. */
  errorKinds?: string;
}

/** One target's measured runs and their medians. */
export interface TargetSummary {
  name: string;
  runs: LoadResult[];
  rps: number;
  p99Ms: number;
  /** Total over all runs, not a median: one bad run is worth seeing. */
  errors: number;
}

/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Medians rather than means: on a shared machine one run can be slowed by a neighbour, and
 * the median ignores it.
 */
export function summarize(name: string, runs: LoadResult[]): TargetSummary {
  return {
    name,
    runs,
    rps: median(runs.map((run) => run.rps)),
    p99Ms: median(runs.map((run) => run.p99Ms)),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
  };
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/** The human-readable table: medians per target, every run's req/s, then each ratio to bare (median of the per-round ratios). */
export function formatTable(summaries: readonly TargetSummary[], ratios: Record<string, number>): string {
  const header = ['target', 'req/s', 'p99 ms', 'errors', 'runs req/s'];
  const rows = summaries.map((s) => [s.name, s.rps.toFixed(0), s.p99Ms.toFixed(2), String(s.errors), s.runs.map((run) => run.rps.toFixed(0)).join(' ')]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) => (column === 0 || column === cells.length - 1 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [
    line(header),
    ...rows.map(line),
    ...Object.entries(ratios).map(([name, ratio]) => `${name}/bare req/s: ${ratio.toFixed(3)} (median of the rounds' ratios)`),
  ].join('\n');
}

/** The single machine-readable line printed last: `<target>_rps`, `<target>_p99_ms`, `<target>_ratio`. */
export function summaryJson(summaries: readonly TargetSummary[], ratios: Record<string, number>, meta: Record<string, string | number>): string {
  const out: Record<string, string | number> = { bench: 'proxy', ...meta };
  for (const s of summaries) {
    const key = s.name.replace(/\W+/g, '_');
    out[`${key}_rps`] = round(s.rps, 1);
    out[`${key}_p99_ms`] = round(s.p99Ms, 2);
    out[`${key}_errors`] = s.errors;
    if (ratios[s.name] !== undefined) out[`${key}_ratio`] = round(ratios[s.name]!, 3);
  }
  return JSON.stringify(out);
}
