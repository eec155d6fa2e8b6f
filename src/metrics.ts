import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { stdoutLog } from './stdout-log.js';
import type { MetricSeries, MetricsFacet } from './store/types.js';

/** The core's request metrics; plugins register their own on the same registry. */
export interface CoreMetrics {
  readonly registry: Registry;
  /** Counts one finished request. Children are cached: no label hashing per request. */
  countRequest(status: number, verdict: string, reason: string | undefined, seconds: number): void;
}

/**
 * A process's registry: default process metrics, every series labelled with the node's
 * name. With workers each process has one and the primary sums them on a scrape.
 */
export function createRegistry(nodeName: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: nodeName });
  collectDefaultMetrics({ register: registry });
  // prom-client names three gauges `_total`, which Prometheus reserves for counters
  // (`promtool check metrics` fails on them); their per-type siblings without the suffix stay.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  return registry;
}

/**
 * The request metrics, on `registry`: `palisade_http_requests_total{code_class,verdict}`,
 * `palisade_blocked_requests_total{reason}`, `palisade_detected_requests_total{reason}`, a
 * request-duration histogram and `palisade_log_lines_dropped_total`. Labels are bounded:
 * status class, verdict kind and the plugin's reason label; never an IP or a path. With
 * `cluster`, the request and block counts are also added to the cluster's sums.
 */
export function createRequestMetrics(registry: Registry, cluster?: MetricsFacet): CoreMetrics {
  const requests = new Counter({
    name: 'palisade_http_requests_total',
    help: 'Requests handled by the proxy, by status class and verdict.',
    labelNames: ['code_class', 'verdict'] as const,
    registers: [registry],
  });
  const blocked = new Counter({
    name: 'palisade_blocked_requests_total',
    help: 'Requests stopped before the upstream, by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'palisade_http_request_duration_seconds',
    help: 'Time from request to response end, as seen by the proxy.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const detected = new Counter({
    name: 'palisade_detected_requests_total',
    help: 'Requests SECURITY_MODE=detect let through that would have been stopped, by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  new Counter({
    name: 'palisade_log_lines_dropped_total',
    help: 'Access log lines dropped because stdout did not take them for too long (a stalled log reader).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stdoutLog().dropped);
    },
  });
  // Per label set: the counter child and the cluster series labels, made once.
  const requestChildren = new Map<string, { child: ReturnType<typeof requests.labels>; labels: Record<string, string> }>();
  const blockedChildren = new Map<string, { child: ReturnType<typeof blocked.labels>; labels: Record<string, string> }>();
  return {
    registry,
    countRequest(status, verdict, reason, seconds) {
      const codeClass = status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'none';
      const key = `${codeClass}|${verdict}`;
      let entry = requestChildren.get(key);
      if (!entry) requestChildren.set(key, (entry = { child: requests.labels(codeClass, verdict), labels: Object.freeze({ code_class: codeClass, verdict }) }));
      entry.child.inc();
      duration.observe(seconds);
      cluster?.add('http_requests', entry.labels);
      if (verdict.startsWith('detect:') && reason !== undefined) {
        detected.labels(reason).inc();
      } else if (verdict !== 'pass' && verdict !== 'error' && reason !== undefined) {
        let blockedEntry = blockedChildren.get(reason);
        if (!blockedEntry) blockedChildren.set(reason, (blockedEntry = { child: blocked.labels(reason), labels: Object.freeze({ reason }) }));
        blockedEntry.child.inc();
        cluster?.add('blocked_requests', blockedEntry.labels);
      }
    },
  };
}

/**
 * `palisade_cluster_http_requests{code_class,verdict}` and
 * `palisade_cluster_blocked_requests{reason}`: the request and block counters summed over
 * every node (this node alone without Redis). Gauges, since a node's totals leave the sum
 * when they expire. One snapshot serves both for a second, so a scrape costs one read.
 */
export function registerClusterTotals(registry: Registry, cluster: MetricsFacet): void {
  let cached: { at: number; series: Promise<MetricSeries[]> } | undefined;
  const snapshot = (): Promise<MetricSeries[]> => {
    if (!cached || Date.now() - cached.at > 1_000) cached = { at: Date.now(), series: cluster.snapshot() };
    return cached.series;
  };
  const totals = (name: string, metric: string, help: string, labelNames: string[]): void => {
    new Gauge({
      name: metric,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        for (const series of await snapshot()) if (series.name === name) this.set(series.labels, series.value);
      },
    });
  };
  totals('http_requests', 'palisade_cluster_http_requests', 'Requests handled by every node of the cluster, by status class and verdict.', [
    'code_class',
    'verdict',
  ]);
  totals('blocked_requests', 'palisade_cluster_blocked_requests', 'Requests stopped before the upstream on every node of the cluster, by reason.', ['reason']);
}
