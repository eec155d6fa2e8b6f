import { Counter, Histogram, type Registry } from 'prom-client';
import { CATEGORIES } from './categories.js';

/** The WAF's series on a process's registry (the node sums its workers'); labels bounded: no client, path or rule text. */
export interface WafMetrics {
  /** One request inspected, taking `seconds` of the rules' time. */
  inspected(seconds: number): void;
  /** Rules of these categories matched a request (each category once). */
  matched(categories: readonly string[]): void;
  /** The rules refused a request (`detect`: SECURITY_MODE=detect let it through). */
  refused(categories: readonly string[], mode: 'block' | 'detect'): void;
}

export function registerWafMetrics(registry: Registry): WafMetrics {
  const inspected = new Counter({ name: 'palisade_waf_inspected_total', help: 'Requests the WAF inspected.', registers: [registry] });
  const seconds = new Histogram({
    name: 'palisade_waf_inspection_seconds',
    help: 'Time the WAF rules took on one request (headers and body).',
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25],
    registers: [registry],
  });
  const matched = new Counter({
    name: 'palisade_waf_matched_total',
    help: 'Requests some WAF rule of a category matched, by CRS category (sqli, xss, rce, …; other).',
    labelNames: ['category'] as const,
    registers: [registry],
  });
  const refused = new Counter({
    name: 'palisade_waf_refused_total',
    help: 'Requests the WAF rules refused, by CRS category of the rules that matched, and mode (detect: SECURITY_MODE=detect let them through).',
    labelNames: ['category', 'mode'] as const,
    registers: [registry],
  });
  // Children made once: no label hashing per request, and every series present from the start.
  const matchedBy = new Map(CATEGORIES.map((category) => [category, matched.labels(category)]));
  const refusedBy = new Map(
    CATEGORIES.flatMap((category) => (['block', 'detect'] as const).map((mode) => [`${category}|${mode}`, refused.labels(category, mode)] as const)),
  );
  return {
    inspected(taken) {
      inspected.inc();
      seconds.observe(taken);
    },
    matched(categories) {
      for (const category of categories) matchedBy.get(category)?.inc();
    },
    refused(categories, mode) {
      for (const category of categories.length > 0 ? categories : ['other']) refusedBy.get(`${category}|${mode}`)?.inc();
    },
  };
}
