/**
 * Run-time half of constant rules (see constant-plan.ts): the first evaluation of a
 * constant rule in an undisturbed transaction is recorded — whether it hit, the TX
 * writes it made (in order), and the match state it left — and later transactions
 * replay the record instead of evaluating the rule.
 *
 * A transaction is *undisturbed* while the constant rules that ran before any point
 * are the same as in every other transaction. Request-dependent events that break this
 * — a non-constant rule skipping over constant rules, `allow:phase`, rule removals or
 * target exclusions by `ctl` — disturb it, and from then on its constant rules are
 * evaluated normally (and nothing is recorded).
 *
 * Consecutive constant rules (following their recorded jumps, e.g. a paranoia-level
 * gate skipping to the next file's gates) are replayed as one *segment*: their writes
 * in order, the last match state, and the rule index where the phase continues. A
 * segment ends before a non-constant rule, and before a hit that logs or disrupts
 * (those go through the normal path).
 */
import { evaluateRule, type EvalContext, type RuleHit } from './evaluate.js';
import { makeItem, type Item, type TxData } from './data.js';
import type { PhaseProgram } from './program.js';
import { effectiveAction } from './program.js';
import type { Rule, Target } from './rule.js';

/** A recorded TX write: key as written and lower-cased, and the item written (undefined: a delete). */
interface Write {
  key: string;
  lower: string;
  item: Item | undefined;
}

/** The match state a rule left when it matched a value (even if a later chain link failed). */
interface Matched {
  variable: string;
  name: string;
  vars: Item[];
}

/** What a constant rule did. */
interface Outcome {
  hit: RuleHit | undefined;
  writes: Write[];
  matched: Matched | undefined;
  /** No writes and no match: replaying only sets the current rule. */
  noop: boolean;
}

/** Consecutive constant rules replayed as one step. */
export interface Segment {
  /** Rule index where the phase continues. */
  next: number;
  /** The last rule of the segment (the current rule afterwards). */
  last: Rule;
  writes: Write[];
  /** The latest match of the segment, and whether its last rule matched (else MATCHED_VARS is empty). */
  matched: Matched | undefined;
  lastMatched: boolean;
}

const NO_TARGETS: readonly Target[] = [];

function applyWrites(d: TxData, writes: readonly Write[]): void {
  const tx = d.tx;
  for (let i = 0; i < writes.length; i++) {
    const w = writes[i] as Write;
    if (w.item === undefined) tx.delete(w.key);
    else tx.putItem(w.lower, w.item);
  }
}

/** The records of one rule set's constant rules (shared by its transactions). */
export class ConstantMemo {
  private readonly outcomes: Array<Outcome | undefined>;
  /** Per constant rule: the segment starting there, or null when none will ever be (fewer than two rules). */
  private readonly segments: Array<Segment | null | undefined>;

  constructor(count: number) {
    this.outcomes = new Array<Outcome | undefined>(count);
    this.segments = new Array<Segment | null | undefined>(count);
  }

  /**
   * The segment starting at constant rule `i` of `program`, once the records of all its
   * rules are known; undefined otherwise (run the rule with `run`).
   */
  segment(program: PhaseProgram, i: number): Segment | undefined {
    const start = program.rules[i] as Rule;
    const known = this.segments[start.constant];
    if (known !== undefined) return known ?? undefined;
    const rules = program.rules;
    const writes: Write[] = [];
    let matched: Matched | undefined;
    let lastMatched = false;
    let count = 0;
    let j = i;
    let last = start;
    let complete = true;
    while (j < rules.length) {
      const rule = rules[j] as Rule;
      if (rule.constant < 0) break;
      const o = this.outcomes[rule.constant];
      if (o === undefined) {
        complete = false;
        break;
      }
      if (o.hit !== undefined && (rule.log || effectiveAction(rule) !== 'pass')) break;
      writes.push(...o.writes);
      if (o.matched !== undefined) matched = o.matched;
      lastMatched = o.matched !== undefined;
      last = rule;
      count++;
      if (o.hit === undefined) j++;
      else if (rule.skipAfter !== undefined) j = program.after[j] as number;
      else if (rule.skip > 0) j = Math.min(j + 1 + rule.skip, rules.length);
      else j++;
    }
    if (count < 2) {
      if (complete) this.segments[start.constant] = null;
      return undefined;
    }
    const segment: Segment = { next: j, last, writes, matched, lastMatched };
    if (complete) this.segments[start.constant] = segment;
    return segment;
  }

  /** Replays `segment`; returns the rule index where the phase continues. */
  replay(segment: Segment, d: TxData): number {
    d.currentRule = segment.last;
    applyWrites(d, segment.writes);
    const m = segment.matched;
    if (m !== undefined) {
      d.matchedVar = m.variable;
      d.matchedVarName = m.name;
      d.matchSerial++;
    }
    // Never appended to: the next rule replaces a non-empty list before matching.
    if (segment.lastMatched && m !== undefined) d.matchedVars = m.vars;
    else if (d.matchedVars.length > 0) d.matchedVars = [];
    return segment.next;
  }

  /** Runs constant `rule` in an undisturbed transaction: replays its record, or evaluates and records it. */
  run(rule: Rule, ctx: EvalContext): RuleHit | undefined {
    const known = this.outcomes[rule.constant];
    const d = ctx.data;
    if (known === undefined) {
      const serial = d.matchSerial;
      const journal: Array<[string, string | undefined]> = [];
      d.tx.journal = journal;
      let hit: RuleHit | undefined;
      try {
        hit = evaluateRule(rule, ctx, NO_TARGETS);
      } finally {
        d.tx.journal = undefined;
      }
      const matched = d.matchSerial === serial ? undefined : { variable: d.matchedVar, name: d.matchedVarName, vars: d.matchedVars };
      const writes = journal.map(([key, value]) => ({
        key,
        lower: key.toLowerCase(),
        item: value === undefined ? undefined : makeItem(`TX:${key}`, key, value),
      }));
      this.outcomes[rule.constant] = { hit, writes, matched, noop: writes.length === 0 && matched === undefined };
      return hit;
    }
    d.currentRule = rule;
    if (known.noop) {
      if (d.matchedVars.length > 0) d.matchedVars = [];
      return known.hit;
    }
    applyWrites(d, known.writes);
    const m = known.matched;
    if (m !== undefined) {
      d.matchedVar = m.variable;
      d.matchedVarName = m.name;
      // Never appended to: the next rule replaces a non-empty list before matching.
      d.matchedVars = m.vars;
      d.matchSerial++;
    } else if (d.matchedVars.length > 0) d.matchedVars = [];
    return known.hit;
  }
}
