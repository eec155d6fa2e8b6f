/** `@pm` and `@pmFromFile` (`@pmf`): case-insensitive multi-phrase match (Aho-Corasick). */
import { PhraseMatcher } from './aho-corasick.js';
import { readDataLines } from './data-file.js';
import type { Operator, OperatorFactory } from './types.js';

/** Short values whose verdicts are remembered per operator (they repeat across requests). */
const MEMO_VALUE_MAX = 64;
const MEMO_ENTRIES = 512;

function phraseOperator(phrases: string[]): Operator {
  const matcher = new PhraseMatcher(phrases);
  const memo = new Map<string, boolean>();
  return (value, rt) => {
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
}

/** `@pm a b c` — phrases separated by spaces. */
export const pm: OperatorFactory = (param) => {
  if (!param.constant) return '@pm does not support macros';
  return phraseOperator(param.text.split(/\s+/).filter(Boolean));
};

/** `@pmFromFile file…` — one phrase per line; paths relative to the rule file. */
export const pmFromFile: OperatorFactory = (param, ctx) => {
  const lines = readDataLines(param.text, ctx.baseDir);
  if (typeof lines === 'string') return lines;
  return phraseOperator(lines);
};
