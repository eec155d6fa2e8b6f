/** Rule removals and target exclusions added at run time by `ctl:` actions. */
import { inRanges } from '../seclang/exceptions.js';
import type { Rule, Target } from './rule.js';

const NO_TARGETS: readonly Target[] = [];

/** The ctl-made exceptions of one transaction. */
export class RuntimeExceptions {
  private readonly removedIds: Array<[number, number]> = [];
  private readonly removedTags: RegExp[] = [];
  private readonly removedMsgs: RegExp[] = [];
  private readonly targetRules: Array<{ applies: (rule: Rule) => boolean; targets: Target[] }> = [];

  removeIds(ranges: Array<[number, number]>): void {
    this.removedIds.push(...ranges);
  }
  removeTag(pattern: RegExp): void {
    this.removedTags.push(pattern);
  }
  removeMsg(pattern: RegExp): void {
    this.removedMsgs.push(pattern);
  }
  removeTargets(applies: (rule: Rule) => boolean, targets: Target[]): void {
    this.targetRules.push({ applies, targets });
  }

  /** True when no ctl removed rules or targets in this transaction. */
  get empty(): boolean {
    return this.removedIds.length === 0 && this.removedTags.length === 0 && this.removedMsgs.length === 0 && this.targetRules.length === 0;
  }

  /** True when `rule` was removed for this transaction. */
  isRemoved(rule: Rule): boolean {
    if (this.removedIds.length > 0 && inRanges(rule.id, this.removedIds)) return true;
    if (this.removedTags.length > 0 && rule.tags.some((t) => this.removedTags.some((p) => p.test(t)))) return true;
    if (this.removedMsgs.length > 0 && rule.msg && this.removedMsgs.some((p) => p.test(rule.msg?.text ?? ''))) return true;
    return false;
  }

  /** Extra exclusions for `rule` (empty array when none). */
  exclusionsFor(rule: Rule): readonly Target[] {
    if (this.targetRules.length === 0) return NO_TARGETS;
    const out: Target[] = [];
    for (const t of this.targetRules) if (t.applies(rule)) out.push(...t.targets);
    return out;
  }
}

/** A predicate matching rules by tag pattern. */
export function byTag(pattern: RegExp): (rule: Rule) => boolean {
  return (rule) => rule.tags.some((t) => pattern.test(t));
}
