/** Operator contracts shared by every `@operator` implementation. */
import type { MacroText } from '../macro.js';
import type { LiteralFilter, PrefilterIndex } from '../regex/prefilter-index.js';

/** What an operator may use while it runs. */
export interface OperatorRuntime {
  /** Expands macros (`%{tx.foo}`) in the operator's parameter. */
  expand(macro: MacroText): string;
  /**
   * Set when the rule has `capture`: the operator writes TX.0 (whole match) and
   * TX.1–TX.9 (groups) into it on a match.
   */
  captures: string[] | undefined;
  /** Set by the evaluator when it already checked the operator's literal prefilter for this value. */
  prefiltered: boolean;
}

/** An operator may expose its literal prefilter so the evaluator can check it once per value. */
export interface PrefilteredOperator extends Operator {
  prefilter?: LiteralFilter;
}

/** A compiled operator: true when the value matches (before negation). */
export type Operator = (value: string, rt: OperatorRuntime) => boolean;

/** What an operator factory gets at load. */
export interface OperatorContext {
  /** Directory of the file the rule is in: relative data file paths resolve against it. */
  baseDir: string;
  /** Counts a regex that needed PCRE→JS translation. */
  noteTranslated(): void;
  /** The rule set's literal prefilter, where `@rx` registers its required literals (optional). */
  prefilter?: PrefilterIndex;
  /**
   * A second index for the literals of `@rx` alternatives (see regex/branches.ts). Kept
   * apart so the first, scanned for every value, stays small (optional).
   */
  alternatives?: PrefilterIndex;
}

/** Builds an operator from its parameter, or returns an error message. */
export type OperatorFactory = (param: MacroText, ctx: OperatorContext) => Operator | string;
