/** `@rx`: PCRE regular expression, translated to JavaScript at load. */
import { LiteralFilter, type PrefilterIndex } from '../regex/prefilter-index.js';
import { requiredLiterals } from '../regex/prefilter.js';
import { translatePcre } from '../regex/translate.js';
import type { Operator, OperatorContext, OperatorFactory, OperatorRuntime, PrefilteredOperator } from './types.js';

/** A compiled regex with the PCRE→JS capture-group map. */
export interface CompiledRegex {
  regex: RegExp;
  captureMap: number[];
  translated: boolean;
  /** When set, a value this filter rejects cannot match, and the regex is not run. */
  filter: LiteralFilter | undefined;
  /** Verdicts for short values (the regex is a pure function of the value). */
  memo: Map<string, boolean>;
}

/**
 * Compiles a PCRE pattern for byte strings; an error message when it cannot. With a
 * prefilter index, the regex gets a required-literal filter registered there.
 */
export function compilePcre(pattern: string, prefilter?: PrefilterIndex): CompiledRegex | string {
  const t = translatePcre(pattern);
  if ('error' in t) return `cannot compile regex /${pattern.length > 80 ? pattern.slice(0, 80) + '…' : pattern}/: ${t.error}`;
  const literals = prefilter ? requiredLiterals(t.source) : undefined;
  const filter = literals && prefilter ? new LiteralFilter(prefilter, prefilter.register(literals)) : undefined;
  return { regex: new RegExp(t.source, t.flags), captureMap: t.captureMap, translated: t.translated, filter, memo: new Map() };
}

/** Short values whose verdicts are remembered per regex (header values and names repeat across requests). */
const MEMO_VALUE_MAX = 64;
const MEMO_ENTRIES = 512;

/** Runs `compiled` on `value`, filling `captures` (TX.0–TX.9) when asked. */
export function runRegex(compiled: CompiledRegex, value: string, rt: OperatorRuntime): boolean {
  const filter = rt.prefiltered ? undefined : compiled.filter;
  if (rt.captures === undefined) {
    if (value.length > MEMO_VALUE_MAX) return (!filter || filter.mayContain(value)) && compiled.regex.test(value);
    const known = compiled.memo.get(value);
    if (known !== undefined) return known;
    const result = (!filter || filter.mayContain(value)) && compiled.regex.test(value);
    if (compiled.memo.size >= MEMO_ENTRIES) compiled.memo.clear();
    compiled.memo.set(value, result);
    return result;
  }
  if (filter && !filter.mayContain(value)) return false;
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
    const compiled = compilePcre(param.text, ctx.prefilter);
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
