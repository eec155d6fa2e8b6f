/**
 * What rules compute from a value — its transformations and the prefilter hits of each
 * transformed form — is cached per value. Both are pure functions of the bytes, so
 * values up to SHARED_VALUE_MAX bytes share one cache across the rule set's
 * transactions (header values, cookie and argument names repeat from request to
 * request); longer ones are cached for the transaction only.
 */
import type { PrefilterIndex } from '../regex/prefilter-index.js';
import type { Item } from './data.js';
import type { RuleLink } from './rule.js';
import type { ValueEntry } from './value-entry.js';

/** Values up to this length share their cache entry across transactions. */
const SHARED_VALUE_MAX = 256;
const SHARED_VALUE_ENTRIES = 8192;

/** The cache shared by a rule set's transactions. */
export type SharedValueCache = Map<string, ValueEntry>;

/** A transaction's view: the shared cache for short values, its own map for long ones. */
export class ValueCache {
  /** Entries of long values, for this transaction only (made on first use). */
  private own: Map<string, ValueEntry> | undefined;

  constructor(
    private readonly shared: SharedValueCache,
    private readonly index: PrefilterIndex,
  ) {}

  /** The item's cache entry (found or created once per item). */
  entry(item: Item): ValueEntry {
    let e = item.vc;
    if (e !== undefined) return e;
    const shared = item.value.length <= SHARED_VALUE_MAX;
    const values = shared ? this.shared : (this.own ??= new Map());
    e = values.get(item.value);
    if (e === undefined) {
      e = { t: [], h: [], u: [], uv: [] };
      if (shared && values.size >= SHARED_VALUE_ENTRIES) values.clear();
      values.set(item.value, e);
    }
    item.vc = e;
    return e;
  }

  /** The item's value after the link's first `upTo` (≥ 1) transformations. */
  transform(link: RuleLink, item: Item, upTo: number): string {
    const ids = link.chainIds;
    const cache = this.entry(item).t;
    const done = cache[ids[upTo - 1] as number];
    if (done !== undefined) return done;
    // Longest cached prefix, then compute forward, caching each step.
    let k = upTo - 1;
    while (k > 0 && cache[ids[k - 1] as number] === undefined) k--;
    let v = k === 0 ? item.value : (cache[ids[k - 1] as number] as string);
    for (let step = k; step < upTo; step++) {
      v = (link.transforms[step] as (s: string) => string)(v);
      cache[ids[step] as number] = v;
    }
    return v;
  }

  /** Prefilter hits of `value`, the item's value after the link's first `steps` transformations. */
  hits(link: RuleLink, item: Item, steps: number, value: string): Int32Array {
    const slot = steps === 0 ? 0 : (link.chainIds[steps - 1] as number) + 1;
    const h = this.entry(item).h;
    let found = h[slot];
    if (found === undefined) h[slot] = found = this.index.hits(value);
    return found;
  }
}
