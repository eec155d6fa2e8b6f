/**
 * One Aho-Corasick pass per value answers, for every filter of the rule set at once,
 * "may this operator match?". A filter is a literal set: an `@rx` registers the
 * literals one of which every match must contain (see prefilter.ts), an `@pm` its
 * phrases (there the answer is exact). A value containing none of a filter's literals
 * cannot match, and the operator is not run.
 *
 * The answer for a value is the set of filters it *hits*, as a bit set (a few words:
 * rule sets have a few hundred filters), cached per value (bounded), so repeated values
 * cost a map look-up and combining answers costs a few word operations.
 */

import { LiteralAutomaton } from '../operators/aho-corasick.js';

const CACHE_VALUE_MAX = 4096;
const CACHE_ENTRIES = 4096;
/** Longer values: a few are kept, since one request's big value is asked about by many rules. */
const LARGE_ENTRIES = 8;

/** All literal sets of a rule set, and the automaton over them. */
export class PrefilterIndex {
  private readonly literalIds = new Map<string, number>();
  /** For each literal, the filters that list it. */
  private literalFilters: number[][] = [];
  private filters = 0;
  private automaton: LiteralAutomaton | undefined;
  private readonly cache = new Map<string, Int32Array>();
  private readonly large = new Map<string, Int32Array>();
  private noHits: Int32Array | undefined;
  /** Scratch for `compute`: per-state and per-literal stamps (no clearing between values). */
  private stateSeen = new Int32Array(0);
  private literalSeen = new Int32Array(0);
  private stamp = 0;
  private readonly found: number[] = [];

  /**
   * Registers a literal set; returns its filter id. Every registration gets its own id,
   * even for a set seen before: the candidate scan marks a filter only for the values
   * its own rules look at. Empty literals are ignored (they cannot be scanned for).
   */
  register(literals: readonly string[]): number {
    if (this.automaton) throw new Error('prefilter index already built');
    const id = this.filters++;
    for (const lit of new Set(literals)) {
      if (lit === '') continue;
      let l = this.literalIds.get(lit);
      if (l === undefined) {
        l = this.literalFilters.length;
        this.literalIds.set(lit, l);
        this.literalFilters.push([]);
      }
      this.literalFilters[l]?.push(id);
    }
    return id;
  }

  /** Number of filters registered (filter ids are 0 … size-1). */
  get size(): number {
    return this.filters;
  }

  /** The (shared) answer for values that hit no filter. */
  get none(): Int32Array {
    return (this.noHits ??= new Int32Array(this.words));
  }

  /** Length of the bit sets (32 filters per word). */
  get words(): number {
    return (this.filters + 31) >>> 5;
  }

  /** The filters `value` hits (may match): bit `id` is set in the result. Do not modify. */
  hits(value: string): Int32Array {
    const small = value.length <= CACHE_VALUE_MAX;
    const cache = small ? this.cache : this.large;
    const known = cache.get(value);
    if (known) return known;
    const result = this.compute(value);
    if (cache.size >= (small ? CACHE_ENTRIES : LARGE_ENTRIES)) cache.clear();
    cache.set(value, result);
    return result;
  }

  /** True when filter `id` may match `value`. */
  mayMatch(value: string, id: number): boolean {
    return hasBit(this.hits(value), id);
  }

  /** Builds the automaton now (else on first use); no literal can be registered afterwards. */
  seal(): void {
    this.automaton ??= this.build();
  }

  private build(): LiteralAutomaton {
    const automaton = new LiteralAutomaton([...this.literalIds.keys()]);
    this.stateSeen = new Int32Array(automaton.states);
    this.literalSeen = new Int32Array(this.literalFilters.length);
    this.automaton = automaton;
    return automaton;
  }

  private compute(value: string): Int32Array {
    const automaton = this.automaton ?? this.build();
    if (this.stamp === 0x7fffffff) {
      this.stamp = 0;
      this.stateSeen.fill(0);
      this.literalSeen.fill(0);
    }
    const stamp = ++this.stamp;
    const found = this.found;
    found.length = 0;
    automaton.collect(value, this.stateSeen, stamp, found);
    if (found.length === 0) return this.none;
    const literalSeen = this.literalSeen;
    const out = new Int32Array(this.words);
    for (let i = 0; i < found.length; i++) {
      const l = found[i] as number;
      if (literalSeen[l] === stamp) continue;
      literalSeen[l] = stamp;
      const fs = this.literalFilters[l] as number[];
      for (let k = 0; k < fs.length; k++) {
        const f = fs[k] as number;
        out[f >>> 5] = (out[f >>> 5] as number) | (1 << (f & 31));
      }
    }
    return out;
  }
}

/**
 * An operator's handle into the index: one literal set, or several that must all be
 * hit (a regex requiring `on…` and `=`).
 */
export class LiteralFilter {
  readonly ids: readonly number[];

  constructor(
    readonly index: PrefilterIndex,
    ids: number | readonly number[],
  ) {
    this.ids = typeof ids === 'number' ? [ids] : ids;
  }

  /** True when `hits` (an index answer) has every set of the filter. */
  matches(hits: Int32Array): boolean {
    const ids = this.ids;
    for (let i = 0; i < ids.length; i++) if (!hasBit(hits, ids[i] as number)) return false;
    return true;
  }

  /** False only when `value` misses one of the filter's sets (compared case-insensitively). */
  mayContain(value: string): boolean {
    return this.matches(this.index.hits(value));
  }
}

/** True when bit `id` is set in the bit set `bits`. */
export function hasBit(bits: Int32Array, id: number): boolean {
  return (((bits[id >>> 5] as number) >>> (id & 31)) & 1) === 1;
}
