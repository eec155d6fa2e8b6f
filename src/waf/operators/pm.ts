/** `@pm` and `@pmFromFile` (`@pmf`): case-insensitive multi-phrase match (Aho-Corasick). */
import { LiteralFilter } from '../regex/prefilter-index.js';
import { PhraseMatcher } from './aho-corasick.js';
import { readDataLines } from './data-file.js';
import type { OperatorContext, OperatorFactory, PrefilteredOperator } from './types.js';

/** Short values whose verdicts are remembered per operator (they repeat across requests). */
const MEMO_VALUE_MAX = 64;
const MEMO_ENTRIES = 512;

/**
 * With a prefilter index, the phrases are registered there too: the rule-set-wide scan
 * then tells exactly which values contain a phrase, so the evaluator runs this operator
 * only on those.
 */
function phraseOperator(phrases: string[], ctx: OperatorContext): PrefilteredOperator {
  const matcher = new PhraseMatcher(phrases);
  const memo = new Map<string, boolean>();
  const op: PrefilteredOperator = (value, rt) => {
    if (rt.captures === undefined && value.length <= MEMO_VALUE_MAX) {
      let known = memo.get(value);
      if (known === undefined) {
        known = matcher.find(value) !== undefined;
        if (memo.size >= MEMO_ENTRIES) memo.clear();
        memo.set(value, known);
      }
      return known;
    }
    const found = matcher.find(value);
    if (found === undefined) return false;
    if (rt.captures) {
      rt.captures.length = 0;
      rt.captures.push(found);
    }
    return true;
  };
  if (ctx.prefilter) op.prefilter = new LiteralFilter(ctx.prefilter, ctx.prefilter.register(phrases));
  return op;
}

/** `@pm a b c` — phrases separated by spaces. */
export const pm: OperatorFactory = (param, ctx) => {
  if (!param.constant) return '@pm does not support macros';
  return phraseOperator(param.text.split(/\s+/).filter(Boolean), ctx);
};

/** `@pmFromFile file…` — one phrase per line; paths relative to the rule file. */
export const pmFromFile: OperatorFactory = (param, ctx) => {
  const lines = readDataLines(param.text, ctx.baseDir);
  if (typeof lines === 'string') return lines;
  return phraseOperator(lines, ctx);
};
