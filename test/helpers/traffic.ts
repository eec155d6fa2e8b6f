/** What a stretch of continuous traffic saw. */
export interface TrafficReport {
  sent: number;
  failed: number;
  /** Status codes that were not 200, with counts. */
  statuses: Record<string, number>;
  /** The slowest and the 99th percentile, for the `measured:` lines only: tests never assert on them. */
  maxMs: number;
  p99Ms: number;
}

/** Continuous traffic: {@link startTraffic}. */
export interface Traffic {
  /** Requests answered so far (any status). */
  answered(): number;
  /**
   * Requests answered while `during` ran, and how long it ran: a node that makes requests wait
   * on something answers at most `loops × (ms / wait + 1)` of them in that time.
   */
  answeredWhile<T>(during: () => Promise<T>): Promise<{ value: T; answered: number; ms: number }>;
  stop(): Promise<TrafficReport>;
}

/**
 * Sends requests to `url` back to back on `concurrency` loops until `stop()` is called,
 * recording every status (bounded: it stops by itself after `maxMs`); each request carries
 * `headers()` (a client address in X-Forwarded-For, say).
 */
export function startTraffic(url: string, concurrency = 4, maxMs = 120_000, headers: () => Record<string, string> = () => ({})): Traffic {
  let running = true;
  const durations: number[] = [];
  const statuses: Record<string, number> = {};
  let failed = 0;
  const deadline = Date.now() + maxMs;
  const loop = async (): Promise<void> => {
    while (running && Date.now() < deadline) {
      const started = performance.now();
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(30_000), headers: headers() });
        await response.arrayBuffer();
        if (response.status !== 200) {
          failed++;
          statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        }
      } catch (error) {
        failed++;
        const key = (error as Error).name;
        statuses[key] = (statuses[key] ?? 0) + 1;
      }
      durations.push(performance.now() - started);
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    answered: () => durations.length,
    async answeredWhile(during) {
      const before = durations.length;
      const started = Date.now();
      const value = await during();
      return { value, answered: durations.length - before, ms: Date.now() - started };
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      const sorted = [...durations].sort((a, b) => a - b);
      return {
        sent: durations.length,
        failed,
        statuses,
        maxMs: sorted[sorted.length - 1] ?? 0,
        p99Ms: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
      };
    },
  };
}

/**
 * The most requests `loops` back-to-back loops can have answered in `ms` if each waited
 * `waitMs` on something (a Redis timeout, say): a node that answered five times more did not
 * wait. A count, not a duration: however loaded the machine, waiting makes it smaller.
 */
export function answeredIfEachWaited(loops: number, ms: number, waitMs: number): number {
  return loops * (Math.floor(ms / waitMs) + 1);
}
