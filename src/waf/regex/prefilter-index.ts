/**
 * One Aho-Corasick pass per value answers, for every `@rx` of the rule set at once,
 * "may this regex match?": a regex whose required literals (see prefilter.ts) do not
 * occur in the value cannot match and is not run. Verdicts are cached per value
 * (bounded), so repeated header values cost a map look-up.
 */

import { LiteralAutomaton } from '../operators/aho-corasick.js';

const CACHE_VALUE_MAX = 4096;
const CACHE_ENTRIES = 2048;

/** All literal sets of a rule set, and the automaton over them. */
export class PrefilterIndex {
  private readonly literalIds = new Map<string, number>();
  /** For each literal, the filters (regexes) that list it. */
  private readonly literalFilters: number[][] = [];
  private filters = 0;
  private automaton: LiteralAutomaton | undefined;
  private readonly cache = new Map<string, Uint8Array>();

  /** Registers a regex's literal set; returns its filter id. */
  register(literals: readonly string[]): number {
    if (this.automaton) throw new Error('prefilter index already built');
    const id = this.filters++;
    for (const lit of literals) {
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

  /** For each filter id, 1 when its regex may match `value`. */
  verdict(value: string): Uint8Array {
    const cacheable = value.length <= CACHE_VALUE_MAX;
    if (cacheable) {
      const known = this.cache.get(value);
      if (known) return known;
    }
    this.automaton ??= new LiteralAutomaton([...this.literalIds.keys()]);
    const result = new Uint8Array(this.filters);
    const literalFilters = this.literalFilters;
    this.automaton.scan(value, (out) => {
      for (const l of out) for (const f of literalFilters[l] as number[]) result[f] = 1;
    });
    if (cacheable) {
      if (this.cache.size >= CACHE_ENTRIES) this.cache.clear();
      this.cache.set(value, result);
    }
    return result;
  }
}

/** A regex's handle into the index. */
export class LiteralFilter {
  constructor(readonly index: PrefilterIndex, readonly id: number) {}

  /** False only when `value` contains none of the regex's required literals (case-insensitively). */
  mayContain(value: string): boolean {
    return this.index.verdict(value)[this.id] === 1;
  }
}
