/**
 * Per-transaction half of the candidate scan (see candidate-plan.ts): the first time a
 * gated rule needs a group, every value of the group's slot is looked up (its union of
 * prefilter hits over the slot's active groups, see candidate-unions.ts), marking the
 * filters it hits. A gated rule whose filter is unmarked cannot match any of its values
 * and is skipped.
 *
 * Skipping is exact: an unmarked filter means the operator would have returned false
 * for every value, and a rule that does not match has no effect. Exclusions added at
 * run time (ctl) only remove values, so a slot scanned without them over-approximates.
 * When the body is parsed, only the scans of values it may change are forgotten.
 */
import { hasBit } from '../regex/prefilter-index.js';
import type { CandidateGroup, CandidatePlan, CandidateSlot } from './candidate-plan.js';
import type { CandidateUnions } from './candidate-unions.js';
import type { Item } from './data.js';
import type { Gate, Target } from './rule.js';
import type { ValueCache } from './value-cache.js';

/** Where the scan gets the values from (the transaction). */
export interface CandidateSource {
  items(target: Target, exclusions: readonly Target[], cacheable: boolean): readonly Item[];
  readonly values: ValueCache;
}

/** The candidate state of one transaction. */
export class Candidates {
  /** Bit set of the groups whose values are marked in this transaction (small typed arrays live on the V8 heap; large ones are slow to make). */
  private readonly scanned: Int32Array;
  /**
   * Bit sets of the filters some scanned value hit (within the filter's own groups):
   * from slots fixed before the body, and from slots the body may change.
   */
  private readonly fixedMarks: Int32Array;
  private readonly bodyMarks: Int32Array;
  private bodyScanned = false;

  constructor(
    private readonly plan: CandidatePlan,
    private readonly unions: CandidateUnions,
  ) {
    this.scanned = new Int32Array((plan.groups.length + 31) >>> 5);
    this.fixedMarks = new Int32Array(plan.index.words);
    this.bodyMarks = new Int32Array(plan.index.words);
  }

  /** Forgets the scans of values the body may change: call when the body was parsed. */
  resetBody(): void {
    if (!this.bodyScanned) return;
    const scanned = this.scanned;
    for (let g = 0; g < this.plan.groups.length; g++) {
      if ((this.plan.slots[(this.plan.groups[g] as CandidateGroup).slot] as CandidateSlot).body)
        scanned[g >>> 5] = (scanned[g >>> 5] as number) & ~(1 << (g & 31));
    }
    this.bodyMarks.fill(0);
    this.bodyScanned = false;
  }

  /** False when no value the gated rule looks at hits its filter. */
  mayMatch(gate: Gate, source: CandidateSource): boolean {
    const groups = gate.groups;
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as number;
      if (!hasBit(this.scanned, g)) this.scan(g, source);
    }
    const filters = gate.filters;
    for (let i = 0; i < filters.length; i++) {
      const f = filters[i] as number;
      if (!hasBit(this.fixedMarks, f) && !hasBit(this.bodyMarks, f)) return false;
    }
    return true;
  }

  /** Marks the values of group `g`'s slot for all the slot's active groups (activating `g` first). */
  private scan(g: number, source: CandidateSource): void {
    const unions = this.unions;
    unions.activate(g);
    const slot = (this.plan.groups[g] as CandidateGroup).slot;
    const def = unions.slot(slot);
    if (def.body) this.bodyScanned = true;
    const items = source.items(def.target, def.exclusions, true);
    const values = source.values;
    const marked = def.body ? this.bodyMarks : this.fixedMarks;
    const words = marked.length;
    const none = unions.none;
    for (let n = 0; n < items.length; n++) {
      const u = unions.union(items[n] as Item, slot, values);
      if (u === none) continue;
      for (let w = 0; w < words; w++) marked[w] = (marked[w] as number) | (u[w] as number);
    }
    const scanned = this.scanned;
    for (const active of unions.activeGroups[slot] as number[]) scanned[active >>> 5] = (scanned[active >>> 5] as number) | (1 << (active & 31));
  }
}
