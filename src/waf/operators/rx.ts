/** `@rx`: PCRE regular expression, translated to JavaScript at load. */
import { alternativesOf } from '../regex/branches.js';
import { LiteralFilter, type PrefilterIndex } from '../regex/prefilter-index.js';
import { requiredLiteralSets } from '../regex/prefilter.js';
import { translatePcre } from '../regex/translate.js';
import type { Operator, OperatorContext, OperatorFactory, OperatorRuntime, PrefilteredOperator } from './types.js';

/** A compiled regex with the PCRE→JS capture-group map. */
export interface CompiledRegex {
  regex: RegExp;
  captureMap: number[];
  translated: boolean;
  /** When set, a value this filter rejects cannot match, and the regex is not run. */
  filter: LiteralFilter | undefined;
  /**
   * The regex's alternatives with their own filters (see regex/branches.ts), when it
   * splits and some alternative has a filter: a value is tested against the few
   * alternatives whose literals it contains instead of against the whole regex.
   */
  alternatives: { list: Alternative[]; index: PrefilterIndex } | undefined;
  /** Verdicts for short values (the regex is a pure function of the value). */
  memo: Map<string, boolean>;
  /** The regex is `^.*$` under DOTALL: it matches any value as a whole (TX.0 = the value). */
  matchesAll: boolean;
}

/** One alternative of a split regex. */
export interface Alternative {
  regex: RegExp;
  filter: LiteralFilter | undefined;
}

function literalFilter(source: string, flags: string, prefilter: PrefilterIndex): LiteralFilter | undefined {
  const sets = requiredLiteralSets(source, flags);
  return sets
    ? new LiteralFilter(
        prefilter,
        sets.map((set) => prefilter.register(set)),
      )
    : undefined;
}

function alternatives(source: string, flags: string, prefilter: PrefilterIndex): CompiledRegex['alternatives'] {
  const sources = alternativesOf(source);
  if (sources === undefined) return undefined;
  let regexes: RegExp[];
  try {
    regexes = sources.map((src) => new RegExp(src, flags));
  } catch {
    return undefined; // a split the engine cannot compile: keep the whole regex only
  }
  const list = regexes.map((regex, k) => ({ regex, filter: literalFilter(sources[k] as string, flags, prefilter) }));
  return list.some((a) => a.filter !== undefined) ? { list, index: prefilter } : undefined;
}

/**
 * Compiles a PCRE pattern for byte strings; an error message when it cannot. With a
 * prefilter index, the regex gets a required-literal filter registered there; with an
 * alternatives index, so do its alternatives.
 */
export function compilePcre(pattern: string, prefilter?: PrefilterIndex, alternativesIndex?: PrefilterIndex): CompiledRegex | string {
  const t = translatePcre(pattern);
  if ('error' in t) return `cannot compile regex /${pattern.length > 80 ? pattern.slice(0, 80) + '…' : pattern}/: ${t.error}`;
  const filter = prefilter ? literalFilter(t.source, t.flags, prefilter) : undefined;
  const alts = alternativesIndex ? alternatives(t.source, t.flags, alternativesIndex) : undefined;
  const matchesAll = t.source === '^.*$' && t.flags.includes('s') && t.captureMap.length <= 1;
  return { regex: new RegExp(t.source, t.flags), captureMap: t.captureMap, translated: t.translated, filter, alternatives: alts, memo: new Map(), matchesAll };
}

/** Shorter values are tested with the whole regex: on them it is cheap, and the look-ups would cost more. */
const ALTERNATIVES_MIN_LENGTH = 256;

/**
 * Whether `value` matches, through the alternatives: undefined when too many of them
 * may match (then the whole regex is cheaper: one pass instead of several).
 */
function testAlternatives(alts: Alternative[], index: PrefilterIndex, value: string): boolean | undefined {
  const hits = index.hits(value);
  let candidates = 0;
  for (const a of alts) if (a.filter === undefined || a.filter.matches(hits)) candidates++;
  if (candidates === 0) return false;
  if (candidates * 2 > alts.length) return undefined;
  for (const a of alts) if ((a.filter === undefined || a.filter.matches(hits)) && a.regex.test(value)) return true;
  return false;
}

/** `regex.test(value)`, through the alternatives when that saves work. */
function test(compiled: CompiledRegex, value: string): boolean {
  const alts = compiled.alternatives;
  if (alts !== undefined && value.length >= ALTERNATIVES_MIN_LENGTH) {
    const r = testAlternatives(alts.list, alts.index, value);
    if (r !== undefined) return r;
  }
  return compiled.regex.test(value);
}

/** Short values whose verdicts are remembered per regex (header values and names repeat across requests). */
const MEMO_VALUE_MAX = 64;
const MEMO_ENTRIES = 512;

/** Runs `compiled` on `value`, filling `captures` (TX.0–TX.9) when asked. */
export function runRegex(compiled: CompiledRegex, value: string, rt: OperatorRuntime): boolean {
  if (compiled.matchesAll) {
    // `^.*$` with DOTALL (CRS 901318, 920450…): every value matches, whole.
    if (rt.captures !== undefined) {
      rt.captures.length = 0;
      rt.captures.push(value);
    }
    return true;
  }
  const filter = rt.prefiltered ? undefined : compiled.filter;
  if (rt.captures === undefined) {
    if (value.length > MEMO_VALUE_MAX) return (!filter || filter.mayContain(value)) && test(compiled, value);
    const known = compiled.memo.get(value);
    if (known !== undefined) return known;
    const result = (!filter || filter.mayContain(value)) && test(compiled, value);
    if (compiled.memo.size >= MEMO_ENTRIES) compiled.memo.clear();
    compiled.memo.set(value, result);
    return result;
  }
  if (filter && !filter.mayContain(value)) return false;
  // Captures need the whole regex (which alternative matches first decides them), but
  // no run at all when no alternative can match.
  const alts = compiled.alternatives;
  if (alts !== undefined && value.length >= ALTERNATIVES_MIN_LENGTH && testAlternatives(alts.list, alts.index, value) === false) return false;
  const m = compiled.regex.exec(value);
  if (m === null) return false;
  rt.captures.length = 0;
  for (let n = 0; n < 10; n++) {
    const js = compiled.captureMap[n];
    if (js === undefined) break;
    rt.captures.push(m[js] ?? '');
  }
  return true;
}

/** `@rx pattern` — macros in the pattern are expanded per transaction (compiled once per text). */
export const rx: OperatorFactory = (param, ctx: OperatorContext) => {
  if (param.constant) {
    const compiled = compilePcre(param.text, ctx.prefilter, ctx.alternatives);
    if (typeof compiled === 'string') return compiled;
    if (compiled.translated) ctx.noteTranslated();
    const op: PrefilteredOperator = (value, rt) => runRegex(compiled, value, rt);
    op.prefilter = compiled.filter;
    return op;
  }
  const cache = new Map<string, CompiledRegex | undefined>();
  const op: Operator = (value, rt) => {
    const pattern = rt.expand(param);
    let compiled = cache.get(pattern);
    if (compiled === undefined && !cache.has(pattern)) {
      const c = compilePcre(pattern);
      compiled = typeof c === 'string' ? undefined : c;
      if (cache.size > 256) cache.clear();
      cache.set(pattern, compiled);
    }
    return compiled !== undefined && runRegex(compiled, value, rt);
  };
  return op;
};
