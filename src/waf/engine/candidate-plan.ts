/**
 * Load-time half of the candidate scan. Most CRS rules are an `@rx` or `@pm` over a
 * request collection: such a rule can only match a value that hits its literal filter
 * (prefilter-index.ts). Rules are grouped by what they look at — a target selection
 * (slot) and a transformation chain — so each group's values are scanned once per
 * transaction, and a rule whose filter no value of its groups hit is skipped without
 * being evaluated (see candidates.ts). Groups of one slot see the same values and are
 * scanned together (see candidate-unions.ts).
 */
import type { LiteralFilter, PrefilterIndex } from '../regex/prefilter-index.js';
import { fixedBeforeBody } from './collect.js';
import type { PhaseEntry, Rule, RuleLink, Target } from './rule.js';

/** Values scanned together: one target selection under one transformation chain. */
export interface CandidateGroup {
  /** Index of the group's selection in `CandidatePlan.slots`. */
  slot: number;
  /** A link with this group's chain (for its transformations and chain ids). */
  link: RuleLink;
  /** Transformations applied. */
  steps: number;
  /** Where the value's hits under this chain are cached (see ValueEntry.h). */
  hitSlot: number;
  /** multiMatch: the value after every prefix of the chain is tested. */
  multi: boolean;
  /** Bit set of the filters of the rules gated on this group. */
  filters: Int32Array;
}

/** One target selection (a rule target slot) and the groups that scan it. */
export interface CandidateSlot {
  /** A target with this slot, and the exclusions that define the slot. */
  target: Target;
  exclusions: readonly Target[];
  groups: number[];
  /** Its values may change when the body is parsed (see collect.ts `fixedBeforeBody`). */
  body: boolean;
}

/** The groups of a rule set. */
export interface CandidatePlan {
  groups: CandidateGroup[];
  slots: CandidateSlot[];
  index: PrefilterIndex;
}

/**
 * True when a link's outcome depends only on whether its (cached, non-live) values hit
 * its filter: a non-negated prefiltered operator over request collections. Live
 * targets (TX, MATCHED_VARS…) change while rules run and counts (`&ARGS`) are numbers,
 * so those links are always evaluated.
 */
function gateable(link: RuleLink): boolean {
  if (link.prefilter === undefined || link.negated || link.unconditional || link.targets.length === 0) return false;
  return link.targets.every((t) => !t.live && !t.count && t.slot >= 0);
}

/** Builds the groups and sets `rule.gate` on every gateable rule. Call after slots and chain ids are assigned. */
export function planCandidates(phases: Map<number, PhaseEntry[]>, index: PrefilterIndex): CandidatePlan {
  const keys = new Map<string, number>();
  const groups: CandidateGroup[] = [];
  const slots: CandidateSlot[] = [];
  const slotOf = new Map<number, number>();
  const gated: Array<{ rule: Rule; filters: readonly number[]; groups: number[] }> = [];
  for (const list of phases.values()) {
    for (const entry of list) {
      if (entry.kind !== 'rule') continue;
      const link = entry.rule.links[0];
      if (link === undefined || !gateable(link)) continue;
      const steps = link.transforms.length;
      const chain = steps === 0 ? -1 : (link.chainIds[steps - 1] as number);
      const ids: number[] = [];
      for (const target of link.targets) {
        const key = `${target.slot}/${chain}/${link.multiMatch ? 'm' : ''}`;
        let g = keys.get(key);
        if (g === undefined) {
          g = groups.length;
          keys.set(key, g);
          let slot = slotOf.get(target.slot);
          if (slot === undefined) {
            slot = slots.length;
            slotOf.set(target.slot, slot);
            slots.push({ target, exclusions: link.exclusions, groups: [], body: !fixedBeforeBody(target.collection) });
          }
          (slots[slot] as CandidateSlot).groups.push(g);
          groups.push({ slot, link, steps, hitSlot: chain + 1, multi: link.multiMatch, filters: new Int32Array(0) });
        }
        if (!ids.includes(g)) ids.push(g);
      }
      gated.push({ rule: entry.rule, filters: (link.prefilter as LiteralFilter).ids, groups: ids });
    }
  }
  for (const g of groups) g.filters = new Int32Array(index.words);
  for (const { rule, filters, groups: ids } of gated) {
    for (const g of ids) {
      const bits = (groups[g] as CandidateGroup).filters;
      for (const f of filters) bits[f >>> 5] = (bits[f >>> 5] as number) | (1 << (f & 31));
    }
    rule.gate = { filters, groups: ids };
  }
  return { groups, slots, index };
}
