import { Counter, type Registry } from 'prom-client';
import type { LeaseCounts } from './counters.js';

/**
 * `palisade_rate_leases_total{event}` on `registry`, read from a process's counters at each
 * scrape (the node sums its workers'): leases granted, spent to their last hit (exhausted),
 * ended by time with hits left and given back (returned), and refused (over the limit).
 */
export function registerLeaseMetrics(registry: Registry, counts: Readonly<LeaseCounts>): void {
  new Counter({
    name: 'palisade_rate_leases_total',
    help: "Rate-limit leases of this node's deciding processes, by event: granted, exhausted (spent to the last hit), returned (ended by time, the rest given back), refused (the client over its limit).",
    labelNames: ['event'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const event of ['granted', 'exhausted', 'returned', 'refused'] as const) this.labels(event).inc(counts[event]);
    },
  });
}
