/** The compiled rule model the transaction runs. Built once at load, never mutated. */
import type { MacroText } from '../macro.js';
import type { Operator } from '../operators/index.js';
import type { LiteralFilter } from '../regex/prefilter-index.js';
import type { Transformation } from '../transformations/index.js';

/** How a compiled target picks keys of its collection. */
export type KeyMatcher =
  | { kind: 'all' }
  | { kind: 'key'; lower: string }
  | { kind: 'regex'; regex: RegExp }
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
  /** The operator's literal prefilter (`@rx`), checked by the evaluator once per value. */
  prefilter: LiteralFilter | undefined;
  negated: boolean;
  /** Operator name and parameter as written, for the hash. */
  operatorText: string;
  transforms: Transformation[];
  /** Cache key of the transformation chain, one entry per prefix length. */
  transformKeys: string[];
  /** Rule-set-wide ids of the chain prefixes (same chain text → same id). */
  chainIds: number[];
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
}

/** An entry of a phase's ordered list: a rule or a SecMarker. */
export type PhaseEntry = { kind: 'rule'; rule: Rule; skipAfterIndex: number } | { kind: 'marker'; name: string };
