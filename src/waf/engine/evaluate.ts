/**
 * Evaluates one rule (with its chain) against the transaction. Semantics follow
 * ModSecurity 2: every target value is tested; on each match MATCHED_VAR* are updated,
 * captures written to TX.0–9, and the link's setvar/setenv/ctl run; a chain matches
 * when every link matched at least once.
 */
import type { MacroResolver } from '../macro.js';
import type { OperatorRuntime } from '../operators/index.js';
import { runLinkActions, type CtlTarget } from './actions-run.js';
import { makeItem, type Item, type TxData } from './data.js';
import type { Rule, RuleLink, Target } from './rule.js';

/** What evaluation needs from the transaction. */
export interface EvalContext {
  data: TxData;
  resolve: MacroResolver;
  ctl: CtlTarget;
  /**
   * Items of `target` after its selector and the given exclusions. `cacheable` is true
   * when the exclusions are the link's own (no ctl-added ones), so the selection may be
   * remembered for the transaction.
   */
  items(target: Target, exclusions: readonly Target[], cacheable: boolean): readonly Item[];
  /** The item's value after the link's first `upTo` transformations, cached per transaction. */
  transform(link: RuleLink, item: Item, upTo: number): string;
  runtime: OperatorRuntime;
}

/** The result of a rule that matched: the first matched variable name. */
export interface RuleHit {
  variable: string;
}

/** Runs `rule`; returns the hit when every link matched. */
export function evaluateRule(rule: Rule, ctx: EvalContext, extraExclusions: readonly Target[]): RuleHit | undefined {
  const d = ctx.data;
  d.currentRule = rule;
  if (d.matchedVars.length > 0) d.matchedVars = [];
  let first: string | undefined;
  for (const link of rule.links) {
    const hit = evaluateLink(link, ctx, extraExclusions);
    if (hit === undefined) return undefined;
    first ??= hit;
  }
  return { variable: first ?? '' };
}

function evaluateLink(link: RuleLink, ctx: EvalContext, extraExclusions: readonly Target[]): string | undefined {
  const d = ctx.data;
  if (link.unconditional) {
    runLinkActions(link, d, ctx.resolve, ctx.ctl);
    return '';
  }
  const exclusions = extraExclusions.length === 0 ? link.exclusions : [...link.exclusions, ...extraExclusions];
  let first: string | undefined;
  const rt = ctx.runtime;
  for (const target of link.targets) {
    const items = ctx.items(target, exclusions, extraExclusions.length === 0);
    if (items.length === 0) continue;
    for (const item of items) {
      const steps = link.transforms.length;
      let matchedValue: string | undefined;
      if (link.multiMatch) {
        let previous: string | undefined;
        for (let k = 0; k <= steps; k++) {
          const v = k === 0 ? item.value : ctx.transform(link, item, k);
          if (v === previous) continue;
          previous = v;
          if (test(link, v, rt)) {
            matchedValue = v;
            break;
          }
        }
      } else {
        const v = steps === 0 ? item.value : ctx.transform(link, item, steps);
        if (link.prefilter) {
          // The regex's required literals, checked once per (value, transformation chain).
          const slot = steps === 0 ? 0 : (link.chainIds[steps - 1] as number) + 1;
          const verdicts = (item.pv ??= []);
          let verdict = verdicts[slot];
          if (verdict === undefined) verdicts[slot] = verdict = link.prefilter.index.verdict(v);
          if (verdict[link.prefilter.id] === 0) {
            if (link.negated) matchedValue = v;
          } else {
            rt.prefiltered = true;
            if (test(link, v, rt)) matchedValue = v;
            rt.prefiltered = false;
          }
        } else if (test(link, v, rt)) matchedValue = v;
      }
      if (matchedValue === undefined) continue;
      if (rt.captures && rt.captures.length > 0) {
        for (let n = 0; n < rt.captures.length; n++) d.tx.set(String(n), rt.captures[n] as string);
      }
      d.matchedVar = matchedValue;
      d.matchedVarName = item.name;
      d.matchedVars.push(makeItem(item.name, item.key, matchedValue));
      first ??= item.name;
      runLinkActions(link, d, ctx.resolve, ctx.ctl);
    }
  }
  return first;
}

function test(link: RuleLink, value: string, rt: OperatorRuntime): boolean {
  if (link.capture) {
    rt.captures = [];
  } else rt.captures = undefined;
  const m = link.operator(value, rt);
  return link.negated ? !m : m;
}
