/**
 * Everything computed from one value (see value-cache.ts). Chain slot 0 is the
 * untransformed value, slot k the chain with id k-1. Its own file: items (data.ts) hold one,
 * and the cache that fills it reads items.
 */
export interface ValueEntry {
  /** Transformed values by chain id. */
  t: Array<string | undefined>;
  /** Prefilter hits by chain slot. */
  h: Array<Int32Array | undefined>;
  /** Union of the hits of a candidate slot's groups, by candidate slot (see candidate-unions.ts), and the slot version it is for. */
  u: Array<Int32Array | undefined>;
  uv: number[];
}
