/**
 * Scanning a candidate slot's values once for all its groups. For each value, the
 * union over the slot's *active* groups of (hits under the group's chain ∩ the group's
 * filters) is cached with the value (ValueEntry.u), so a transaction visits each value
 * of a slot once instead of once per group, and a repeated value costs one look-up.
 *
 * A group becomes active the first time a rule needs it (in any transaction of the
 * rule set): groups of rules a configuration never reaches (higher paranoia levels,
 * skipped sections) are never transformed or scanned. Activating a group bumps the
 * slot's version, which invalidates the cached unions of that slot. Marking more
 * groups than a transaction needs only over-approximates, so skipping stays exact.
 */
import type { CandidateGroup, CandidatePlan, CandidateSlot } from './candidate-plan.js';
import type { Item } from './data.js';
import type { ValueCache } from './value-cache.js';

/** The active groups of a rule set, learned across its transactions. */
export class CandidateUnions {
  /** 1 for groups some transaction needed. */
  readonly active: Uint8Array;
  /** Per slot: the active groups, and a version bumped when one is added. */
  readonly activeGroups: number[][];
  readonly versions: Int32Array;
  private readonly words: number;

  constructor(private readonly plan: CandidatePlan) {
    this.active = new Uint8Array(plan.groups.length);
    this.activeGroups = plan.slots.map(() => []);
    this.versions = new Int32Array(plan.slots.length);
    this.words = plan.index.words;
  }

  /**
   * Marks group `g` active (its slot's cached unions become stale). The flag is set last:
   * if a deadline cuts this off (deadline.ts), the next call completes it (a group listed
   * twice is harmless; a group flagged but not listed would never be scanned).
   */
  activate(g: number): void {
    if (this.active[g] === 1) return;
    const slot = (this.plan.groups[g] as CandidateGroup).slot;
    const list = this.activeGroups[slot] as number[];
    if (!list.includes(g)) list.push(g);
    this.versions[slot] = (this.versions[slot] as number) + 1;
    this.active[g] = 1;
  }

  /**
   * The union for `item` in `slot`: bit f is set when the item's value, under the chain
   * of an active group of the slot that gates filter f, hits f. Most values hit nothing:
   * they all get the shared `none` (which callers need not merge).
   */
  union(item: Item, slot: number, values: ValueCache): Int32Array {
    const e = values.entry(item);
    const version = this.versions[slot] as number;
    const known = e.u[slot];
    if (known !== undefined && e.uv[slot] === version) return known;
    const out = new Int32Array(this.words);
    for (const g of this.activeGroups[slot] as number[]) this.addGroup(out, this.plan.groups[g] as CandidateGroup, item, values);
    let any = 0;
    for (let w = 0; w < out.length; w++) any |= out[w] as number;
    const union = any === 0 ? this.none : out;
    e.u[slot] = union;
    e.uv[slot] = version;
    return union;
  }

  /** The union of values that hit nothing (shared; never modified). */
  get none(): Int32Array {
    return this.plan.index.none;
  }

  private addGroup(out: Int32Array, group: CandidateGroup, item: Item, values: ValueCache): void {
    const link = group.link;
    const steps = group.steps;
    const none = this.plan.index.none;
    let previous: string | undefined;
    for (let k = group.multi ? 0 : steps; k <= steps; k++) {
      const v = k === 0 ? item.value : values.transform(link, item, k);
      if (v === previous) continue;
      previous = v;
      const hits = values.hits(link, item, k, v);
      if (hits === none) continue;
      const filters = group.filters;
      for (let w = 0; w < this.words; w++) out[w] = (out[w] as number) | ((hits[w] as number) & (filters[w] as number));
    }
  }

  /** The slot's definition. */
  slot(slot: number): CandidateSlot {
    return this.plan.slots[slot] as CandidateSlot;
  }
}
