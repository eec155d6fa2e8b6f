/** Rules as read, before compilation (so later directives can still update them). */
import type { RawAction } from './actions-parser.js';

/** One SecRule/SecAction link as written. */
export interface LinkDraft {
  /** Target list text; undefined for SecAction. */
  variables: string | undefined;
  /** Operator text; undefined for SecAction. */
  operator: string | undefined;
  actions: RawAction[];
  line: number;
}

/** Defaults in force (SecDefaultAction of the rule's phase) when the rule was read. */
export interface PhaseDefaults {
  actions: RawAction[];
}

/** A rule (starter plus chain links) as read. */
export interface RuleDraft {
  id: number;
  phase: number;
  file: string;
  line: number;
  links: LinkDraft[];
  defaults: PhaseDefaults;
  /** Added by SecRuleUpdateTargetBy*: extra target text for the starter. */
  extraTargets: string[];
}
