/**
 * A phase as the transaction runs it: the rules in order without the SecMarkers, with
 * every jump target resolved to a rule index, so the run loop touches rules only.
 */
import type { Disruptive, PhaseEntry, Rule } from './rule.js';

/** One phase's rules and precomputed flow. */
export interface PhaseProgram {
  rules: Rule[];
  /** Per rule: where execution continues when it matches and has `skipAfter` (rules.length = end of phase). */
  after: Int32Array;
  /** Constant rules (see constant-plan.ts) before each index; length rules.length + 1. */
  constantsBefore: Int32Array;
}

/** The disruptive action a rule takes when it matches (`block` resolved to the phase default). */
export function effectiveAction(rule: Rule): Disruptive {
  const action = rule.disruptive ?? rule.defaultDisruptive;
  return action === 'block' ? rule.defaultDisruptive : action;
}

/** Builds the program of one phase list (after skipAfter targets and constant rules are known). */
export function buildProgram(entries: readonly PhaseEntry[]): PhaseProgram {
  // Rules before each entry index: a jump to entry k continues at rule rulesBefore[k].
  const rulesBefore = new Int32Array(entries.length + 2);
  const rules: Rule[] = [];
  entries.forEach((e, k) => {
    rulesBefore[k + 1] = (rulesBefore[k] as number) + (e.kind === 'rule' ? 1 : 0);
    if (e.kind === 'rule') rules.push(e.rule);
  });
  rulesBefore[entries.length + 1] = rules.length;
  const after = new Int32Array(rules.length);
  const constantsBefore = new Int32Array(rules.length + 1);
  let r = 0;
  for (const e of entries) {
    if (e.kind !== 'rule') continue;
    after[r] = e.rule.skipAfter === undefined ? r + 1 : (rulesBefore[Math.min(e.skipAfterIndex + 1, entries.length + 1)] as number);
    constantsBefore[r + 1] = (constantsBefore[r] as number) + (e.rule.constant >= 0 ? 1 : 0);
    r++;
  }
  return { rules, after, constantsBefore };
}
