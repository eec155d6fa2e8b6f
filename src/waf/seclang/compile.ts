/**
 * Turns a fully read configuration into phase lists: applies the configuration-time
 * exceptions to the drafts, compiles each rule, resolves skipAfter targets.
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { planCandidates, type CandidatePlan } from '../engine/candidate-plan.js';
import { fixedBeforeBody } from '../engine/collect.js';
import { planConstants } from '../engine/constant-plan.js';
import { buildProgram, type PhaseProgram } from '../engine/program.js';
import type { PhaseEntry, Rule } from '../engine/rule.js';
import type { LoadError } from '../types.js';
import type { RawAction } from './actions-parser.js';
import type { ConfigState } from './directives.js';
import type { RuleDraft } from './draft.js';
import { inRanges } from './exceptions.js';
import { PrefilterIndex } from '../regex/prefilter-index.js';
import { compileRule } from './rule-compile.js';

/** The compiled configuration. */
export interface CompiledConfig {
  phases: Map<number, PhaseEntry[]>;
  /** Number of rule targets (slots for per-transaction selection caches). */
  slots: number;
  /** The slots whose values may change when the body is parsed. */
  bodySlots: number[];
  /** Rules gated on the literal prefilter, and the value groups they are scanned in. */
  candidates: CandidatePlan;
  /** Number of rules whose outcome is the same in every transaction (constant-plan.ts). */
  constants: number;
  /** Per phase, the rules as the transaction runs them. */
  programs: Map<number, PhaseProgram>;
  rules: number;
  translatedRegexes: number;
  refused: LoadError[];
  errors: LoadError[];
  hash: string;
}

function textOfActions(actions: RawAction[], name: string): string[] {
  return actions.filter((a) => a.name === name).map((a) => a.value ?? '');
}

function applyExceptions(state: ConfigState): Set<RuleDraft> {
  const removed = new Set<RuleDraft>();
  const drafts = state.entries.flatMap((e) => (e.kind === 'rule' ? [e.draft] : []));
  for (const ex of state.exceptions) {
    for (const draft of drafts) {
      const actions = draft.links[0]?.actions ?? [];
      const tags = (): string[] => textOfActions(actions, 'tag');
      const msgs = (): string[] => textOfActions(actions, 'msg');
      switch (ex.kind) {
        case 'removeById':
          if (inRanges(draft.id, ex.ranges)) removed.add(draft);
          break;
        case 'removeByTag':
          if (tags().some((t) => ex.pattern.test(t))) removed.add(draft);
          break;
        case 'removeByMsg':
          if (msgs().some((t) => ex.pattern.test(t))) removed.add(draft);
          break;
        case 'updateTargetById':
        case 'updateTargetByTag':
        case 'updateTargetByMsg': {
          const hit =
            ex.kind === 'updateTargetById'
              ? inRanges(draft.id, ex.ranges)
              : (ex.kind === 'updateTargetByTag' ? tags() : msgs()).some((t) => ex.pattern.test(t));
          if (!hit) break;
          const starter = draft.links[0];
          if (ex.replaced !== undefined && starter?.variables !== undefined) {
            starter.variables = starter.variables
              .split('|')
              .filter((v) => v !== ex.replaced)
              .join('|');
          }
          draft.extraTargets.push(ex.targets);
          break;
        }
        case 'updateActionById': {
          if (draft.id !== ex.id) break;
          const starter = draft.links[0];
          if (!starter) break;
          // New values replace same-named single-valued actions; t: and list actions are appended.
          const lists = new Set(['t', 'tag', 'setvar', 'ctl', 'setenv']);
          const disruptive = new Set(['pass', 'deny', 'drop', 'block', 'allow', 'redirect']);
          const replacing = new Set(ex.actions.filter((a) => !lists.has(a.name)).map((a) => a.name));
          const newDisruptive = ex.actions.some((a) => disruptive.has(a.name));
          starter.actions = starter.actions.filter((a) => !replacing.has(a.name) && !(newDisruptive && disruptive.has(a.name)));
          starter.actions.push(...ex.actions.filter((a) => a.name !== 'id' && a.name !== 'phase'));
          break;
        }
      }
    }
  }
  return removed;
}

/** Compiles `state` (consumes its drafts). */
export function compileConfig(state: ConfigState): CompiledConfig {
  const removed = applyExceptions(state);
  const refused: LoadError[] = [];
  const errors: LoadError[] = [];
  let translated = 0;
  const phases = new Map<number, PhaseEntry[]>();
  for (let p = 1; p <= 5; p++) phases.set(p, []);
  const hash = createHash('sha256');
  const prefilter = new PrefilterIndex();
  const alternatives = new PrefilterIndex();
  let count = 0;
  for (const entry of state.entries) {
    if (entry.kind === 'marker') {
      for (const list of phases.values()) list.push({ kind: 'marker', name: entry.name });
      hash.update(`marker ${entry.name}\n`);
      continue;
    }
    const draft = entry.draft;
    if (removed.has(draft)) continue;
    const result = compileRule(draft, { baseDir: dirname(draft.file), noteTranslated: () => translated++, prefilter, alternatives });
    if ('kind' in result) {
      const target = result.kind === 'refused' ? refused : errors;
      target.push({ file: draft.file, line: result.line, message: `rule ${draft.id}: ${result.message}` });
      continue;
    }
    count++;
    hash.update(
      JSON.stringify([draft.id, draft.phase, draft.links.map((l) => [l.variables, l.operator, l.actions]), draft.extraTargets, draft.defaults.actions]) + '\n',
    );
    (phases.get(draft.phase) as PhaseEntry[]).push({ kind: 'rule', rule: result as Rule, skipAfterIndex: -1 });
  }
  for (const list of phases.values()) resolveSkipAfter(list);
  const { slots, bodySlots } = assignSlots(phases);
  // Built at load: the first request should not pay for it.
  prefilter.seal();
  alternatives.seal();
  const candidates = planCandidates(phases, prefilter);
  const constants = planConstants(phases);
  const programs = new Map([...phases].map(([phase, list]) => [phase, buildProgram(list)]));
  return { phases, slots, bodySlots, candidates, constants, programs, rules: count, translatedRegexes: translated, refused, errors, hash: hash.digest('hex') };
}

function resolveSkipAfter(list: PhaseEntry[]): void {
  for (let i = 0; i < list.length; i++) {
    const entry = list[i] as PhaseEntry;
    if (entry.kind !== 'rule' || entry.rule.skipAfter === undefined) continue;
    const target = entry.rule.skipAfter;
    let found = list.length;
    for (let j = i + 1; j < list.length; j++) {
      const e = list[j] as PhaseEntry;
      if ((e.kind === 'marker' && e.name === target) || (e.kind === 'rule' && String(e.rule.id) === target)) {
        found = j;
        break;
      }
    }
    entry.skipAfterIndex = found;
  }
}

/**
 * Numbers rule targets and transformation chains for array-indexed caches. Targets
 * that select the same values (same variable, selector and same-collection
 * exclusions) share a slot, so rules on `ARGS|!ARGS:x` reuse one selection.
 */
function assignSlots(phases: Map<number, PhaseEntry[]>): { slots: number; bodySlots: number[] } {
  const slots = new Map<string, number>();
  const bodySlots: number[] = [];
  const chains = new Map<string, number>();
  for (const list of phases.values()) {
    for (const entry of list) {
      if (entry.kind !== 'rule') continue;
      for (const link of entry.rule.links) {
        for (const t of link.targets) {
          const same = link.exclusions
            .filter((e) => e.collection === t.collection)
            .map((e) => e.text)
            .sort()
            .join('|');
          const key = `${t.text}\u0000${same}`;
          let slot = slots.get(key);
          if (slot === undefined) {
            slot = slots.size;
            slots.set(key, slot);
            if (!fixedBeforeBody(t.collection)) bodySlots.push(slot);
          }
          t.slot = slot;
        }
        link.chainIds = link.transformKeys.map((key) => {
          let id = chains.get(key);
          if (id === undefined) {
            id = chains.size;
            chains.set(key, id);
          }
          return id;
        });
        link.hitSlot = link.chainIds.length === 0 ? 0 : (link.chainIds[link.chainIds.length - 1] as number) + 1;
      }
    }
  }
  return { slots: slots.size, bodySlots };
}
