import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The core's request metrics; plugins register their own on the same registry. */
export interface CoreMetrics {
  readonly registry: Registry;
  /** Counts one finished request. Children are cached: no label hashing per request. */
  countRequest(status: number, verdict: string, reason: string | undefined, seconds: number): void;
}

/**
 * Builds the node's registry: default process metrics plus
 * `palisade_http_requests_total{code_class,verdict}`, `palisade_blocked_requests_total{reason}`
 * and a request-duration histogram. Labels are bounded: status class, verdict kind and the
 * plugin's reason label; never an IP or a path.
 */
export function createCoreMetrics(nodeName: string): CoreMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node: nodeName });
  collectDefaultMetrics({ register: registry });
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
  const requestChildren = new Map<string, ReturnType<typeof requests.labels>>();
  const blockedChildren = new Map<string, ReturnType<typeof blocked.labels>>();
  return {
    registry,
    countRequest(status, verdict, reason, seconds) {
      const codeClass = status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'none';
      const key = `${codeClass}|${verdict}`;
      let child = requestChildren.get(key);
      if (!child) requestChildren.set(key, (child = requests.labels(codeClass, verdict)));
      child.inc();
      duration.observe(seconds);
      if (verdict !== 'pass' && verdict !== 'error' && reason !== undefined) {
        let blockedChild = blockedChildren.get(reason);
        if (!blockedChild) blockedChildren.set(reason, (blockedChild = blocked.labels(reason)));
        blockedChild.inc();
      }
    },
  };
}
