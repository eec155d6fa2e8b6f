/** What a stretch of continuous traffic saw. */
export interface TrafficReport {
  sent: number;
  failed: number;
  /** Status codes that were not 200, with counts. */
  statuses: Record<string, number>;
  maxMs: number;
  p99Ms: number;
}

/**
 * Sends requests to `url` back to back on `concurrency` loops until `stop()` is called,
 * recording every status and duration (bounded: it stops by itself after `maxMs`); each
 * request carries `headers()` (a client address in X-Forwarded-For, say).
 */
export function startTraffic(url: string, concurrency = 4, maxMs = 120_000, headers: () => Record<string, string> = () => ({})): { stop(): Promise<TrafficReport> } {
  let running = true;
  const durations: number[] = [];
  const statuses: Record<string, number> = {};
  let failed = 0;
  const deadline = Date.now() + maxMs;
  const loop = async (): Promise<void> => {
    while (running && Date.now() < deadline) {
      const started = performance.now();
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(10_000), headers: headers() });
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
