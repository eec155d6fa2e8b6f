import type { MetricSeries, MetricsFacet } from './types.js';
import type { RemoteMetrics } from './shared-backend.js';

const LABEL_VALUE = /^[A-Za-z0-9_.:-]{0,64}$/;

/** `name|k=v,k=v` with sorted label names: the field name of a series in Redis. */
export function encodeSeries(name: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((key) => {
      const value = labels[key] ?? '';
      if (!LABEL_VALUE.test(value)) throw new TypeError(`metric label values are short tokens: ${key}=${JSON.stringify(value)}`);
      return `${key}=${value}`;
    });
  return `${name}|${parts.join(',')}`;
}

/** The inverse of {@link encodeSeries}. */
export function decodeSeries(field: string, value: number): MetricSeries {
  const [name = '', rest = ''] = field.split('|');
  const labels: Record<string, string> = {};
  for (const pair of rest === '' ? [] : rest.split(',')) {
    const eq = pair.indexOf('=');
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return { name, labels, value };
}

/**
 * The metrics facet: `add` only updates two maps (this node's totals and the deltas not yet
 * pushed); `flush` pushes the deltas to Redis every few seconds (kept for the next flush
 * when Redis fails), and `snapshot` sums every node's totals.
 */
export class ClusterMetrics implements MetricsFacet {
  private readonly totals = new Map<string, number>();
  private pending = new Map<string, number>();
  private readonly keys = new Map<string, string>();
  /** The field of a labels object seen before (callers on the request path reuse theirs). */
  private readonly fields = new WeakMap<Record<string, string>, { name: string; field: string }>();

  constructor(private readonly backend: () => RemoteMetrics | undefined) {}

  add(name: string, labels: Record<string, string>, by = 1): void {
    const known = this.fields.get(labels);
    let field = known !== undefined && known.name === name ? known.field : undefined;
    if (field === undefined) {
      const cacheKey = `${name}\u0000${Object.values(labels).join('\u0000')}`;
      field = this.keys.get(cacheKey);
      if (field === undefined) this.keys.set(cacheKey, (field = encodeSeries(name, labels)));
      if (Object.isFrozen(labels)) this.fields.set(labels, { name, field });
    }
    this.totals.set(field, (this.totals.get(field) ?? 0) + by);
    this.pending.set(field, (this.pending.get(field) ?? 0) + by);
  }

  /** The same totals as the contract's remote part: how the node's metrics take its workers' deltas. */
  readonly remote: RemoteMetrics = {
    push: async (deltas) => {
      for (const [field, value] of deltas) {
        this.totals.set(field, (this.totals.get(field) ?? 0) + value);
        this.pending.set(field, (this.pending.get(field) ?? 0) + value);
      }
    },
    totals: async () => {
      const remote = this.backend();
      if (remote) {
        try {
          return await remote.totals();
        } catch {
          // degraded: this node's own figures
        }
      }
      return new Map(this.totals);
    },
  };

  /** Pushes pending deltas; on failure they are merged back for the next try. */
  async flush(): Promise<void> {
    const remote = this.backend();
    if (!remote || this.pending.size === 0) return;
    const deltas = this.pending;
    this.pending = new Map();
    try {
      await remote.push(deltas);
    } catch {
      for (const [field, value] of deltas) this.pending.set(field, (this.pending.get(field) ?? 0) + value);
    }
  }

  async snapshot(): Promise<MetricSeries[]> {
    return [...(await this.remote.totals())].map(([field, value]) => decodeSeries(field, value));
  }
}
