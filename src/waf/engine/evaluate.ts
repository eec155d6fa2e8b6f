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
import type { ValueCache } from './value-cache.js';

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
  /** Transformations and prefilter hits of values, cached. */
  values: ValueCache;
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
  const steps = link.transforms.length;
  const filter = link.multiMatch ? undefined : link.prefilter;
  const values = ctx.values;
  const rt = ctx.runtime;
  let first: string | undefined;
  for (const target of link.targets) {
    const items = ctx.items(target, exclusions, extraExclusions.length === 0);
    for (let n = 0; n < items.length; n++) {
      const item = items[n] as Item;
      let matchedValue: string | undefined;
      if (filter !== undefined) {
        // The operator's literal filter, checked once per (value, chain): cached hits
        // first, so a rejected value is usually not even transformed.
        let hits = values.entry(item).h[link.hitSlot];
        let v: string | undefined;
        if (hits === undefined) {
          v = steps === 0 ? item.value : values.transform(link, item, steps);
          hits = values.hits(link, item, steps, v);
        }
        if (!filter.matches(hits)) {
          if (!link.negated) continue;
          matchedValue = v ?? (steps === 0 ? item.value : values.transform(link, item, steps));
        } else {
          v ??= steps === 0 ? item.value : values.transform(link, item, steps);
          rt.prefiltered = true;
          if (test(link, v, rt)) matchedValue = v;
          rt.prefiltered = false;
        }
      } else if (link.multiMatch) {
        let previous: string | undefined;
        for (let k = 0; k <= steps; k++) {
          const v = k === 0 ? item.value : values.transform(link, item, k);
          if (v === previous) continue;
          previous = v;
          if (test(link, v, rt)) {
            matchedValue = v;
            break;
          }
        }
      } else {
        const v = steps === 0 ? item.value : values.transform(link, item, steps);
        if (test(link, v, rt)) matchedValue = v;
      }
      if (matchedValue === undefined) continue;
      matched(link, item, matchedValue, ctx);
      first ??= item.name;
    }
  }
  return first;
}

/** A value matched: captures to TX.0–9, MATCHED_VAR*, then the link's non-disruptive actions. */
function matched(link: RuleLink, item: Item, value: string, ctx: EvalContext): void {
  const d = ctx.data;
  const captures = ctx.runtime.captures;
  if (captures && captures.length > 0) {
    for (let n = 0; n < captures.length; n++) d.tx.set(String(n), captures[n] as string);
  }
  d.matchedVar = value;
  d.matchSerial++;
  d.matchedVarName = item.name;
  d.matchedVars.push(value === item.value ? item : makeItem(item.name, item.key, value));
  runLinkActions(link, d, ctx.resolve, ctx.ctl);
}

function test(link: RuleLink, value: string, rt: OperatorRuntime): boolean {
  if (link.capture) {
    rt.captures = [];
  } else rt.captures = undefined;
  const m = link.operator(value, rt);
  return link.negated ? !m : m;
}
