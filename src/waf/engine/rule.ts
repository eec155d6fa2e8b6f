/** The compiled rule model the transaction runs. Built once at load, never mutated. */
import type { MacroText } from '../macro.js';
import type { Operator } from '../operators/index.js';
import type { LiteralFilter } from '../regex/prefilter-index.js';
import type { Transformation } from '../transformations/index.js';

/** How a compiled target picks keys of its collection. */
export type KeyMatcher =
  | { kind: 'all' }
  | { kind: 'key'; lower: string }
  /**
   * `prefix` (lower-case) is set when the regex is just `^literal`: then a key matches
   * when it starts with it. Otherwise `needles` (lower-case), when set, are literals a
   * matching key contains one of: other keys are rejected without running the regex.
   */
  | { kind: 'regex'; regex: RegExp; prefix: string | undefined; needles: string[] | undefined }
  | { kind: 'xpath'; path: string };

/** One rule target (or exclusion) after compilation. */
export interface Target {
  collection: string;
  match: KeyMatcher;
  count: boolean;
  /** As written, for hashing and messages. */
  text: string;
  /** Index of this rule target in the rule set (for per-transaction caches); -1 for exclusions. */
  slot: number;
  /** Values change while rules run (TX, MATCHED_VARS…): never cached. */
  live: boolean;
}

/** `setvar` compiled: collection upper-cased, key and value macro texts. */
export interface SetVar {
  collection: string;
  key: MacroText;
  /** The key lower-cased, when it is constant. */
  lower: string | undefined;
  op: 'set' | 'add' | 'sub' | 'delete';
  value: MacroText;
}

/** `ctl:` compiled. */
export type Ctl =
  | { kind: 'ruleRemoveById'; ranges: Array<[number, number]> }
  | { kind: 'ruleRemoveByTag'; pattern: RegExp }
  | { kind: 'ruleRemoveByMsg'; pattern: RegExp }
  | { kind: 'ruleRemoveTargetById'; ranges: Array<[number, number]>; targets: Target[] }
  | { kind: 'ruleRemoveTargetByTag'; pattern: RegExp; targets: Target[] }
  | { kind: 'ruleRemoveTargetByMsg'; pattern: RegExp; targets: Target[] }
  | { kind: 'ruleEngine'; mode: 'On' | 'Off' | 'DetectionOnly' }
  | { kind: 'requestBodyProcessor'; processor: string }
  | { kind: 'requestBodyAccess'; on: boolean }
  | { kind: 'forceRequestBodyVariable'; on: boolean }
  | { kind: 'requestBodyLimit'; limit: number }
  | { kind: 'noop' };

/** The disruptive action a rule declares (`block` is resolved at run time from the phase default). */
export type Disruptive = 'pass' | 'deny' | 'drop' | 'block' | 'allow' | 'allowPhase' | 'allowRequest' | 'redirect';

/** One link of a rule (a chain is a starter plus links). */
export interface RuleLink {
  targets: Target[];
  exclusions: Target[];
  operator: Operator;
  /** The operator's literal prefilter (`@rx`, `@pm`), checked by the evaluator once per value. */
  prefilter: LiteralFilter | undefined;
  negated: boolean;
  /** Operator name and parameter as written, for the hash. */
  operatorText: string;
  transforms: Transformation[];
  /** Cache key of the transformation chain, one entry per prefix length. */
  transformKeys: string[];
  /** Rule-set-wide ids of the chain prefixes (same chain text → same id). */
  chainIds: number[];
  /** Where a value's prefilter hits under the whole chain are cached (ValueEntry.h): 0 untransformed, else chain id + 1. */
  hitSlot: number;
  multiMatch: boolean;
  capture: boolean;
  setvars: SetVar[];
  setenvs: Array<{ name: MacroText; value: MacroText }>;
  ctls: Ctl[];
  /** True for SecAction (no targets, always matches). */
  unconditional: boolean;
}

/** A compiled rule: the starter link, its chain, and the rule-level metadata. */
export interface Rule {
  id: number;
  phase: number;
  file: string;
  line: number;
  links: RuleLink[];
  msg: MacroText | undefined;
  logdata: MacroText | undefined;
  severity: string | undefined;
  tags: string[];
  ver: string | undefined;
  rev: string | undefined;
  log: boolean;
  disruptive: Disruptive | undefined;
  /** The phase default's disruptive action, used when `disruptive` is `block`. */
  defaultDisruptive: Disruptive;
  status: number | undefined;
  redirectUrl: string | undefined;
  skip: number;
  skipAfter: string | undefined;
  /**
   * Set when the starter link can only match values that hit its literal filter (see
   * candidate-plan.ts): the rule is skipped unless one of its groups' values hit it.
   */
  gate: Gate | undefined;
  /** Memo slot when the rule is constant (see constant-plan.ts), else -1. */
  constant: number;
}

/** A rule's literal gate: its starter's filter ids (all must be hit) and the candidate groups of its targets. */
export interface Gate {
  filters: readonly number[];
  groups: number[];
}

/** An entry of a phase's ordered list: a rule or a SecMarker. */
export type PhaseEntry = { kind: 'rule'; rule: Rule; skipAfterIndex: number } | { kind: 'marker'; name: string };
