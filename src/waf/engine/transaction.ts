/** One request's run through the rule set. */
import { expandMacro, type MacroRef } from '../macro.js';
import type { OperatorRuntime } from '../operators/index.js';
import type { EngineSettings } from '../seclang/settings.js';
import type { EngineMode, Interruption, RuleMatch, WafRequest } from '../types.js';
import { parseUrlEncoded } from '../body/urlencoded.js';
import { defaultProcessor, processRequestBody } from './body-run.js';
import { baseItems, excludeItems, fixedBeforeBody, regexKeyMatches, selectItems } from './collect.js';
import { KeyedStore, makeItem, type Item, type TxData } from './data.js';
import type { CtlTarget } from './actions-run.js';
import { evaluateRule, type EvalContext, type RuleHit } from './evaluate.js';
import { readHeaders, requestLineVars, serverNameOf } from './request-line.js';
import type { CandidatePlan } from './candidate-plan.js';
import type { CandidateUnions } from './candidate-unions.js';
import type { ConstantMemo } from './constant-memo.js';
import { Candidates } from './candidates.js';
import { runBefore } from './deadline.js';
import type { PhaseProgram } from './program.js';
import type { Rule, Target } from './rule.js';
import { ValueCache, type SharedValueCache } from './value-cache.js';
import { HEAVY_VALUE, refTarget, ruleFieldOf, storeFor, xmlItems } from './lookup.js';
import { RuntimeExceptions } from './runtime-exceptions.js';

const NO_ITEMS: readonly Item[] = [];
const NO_TARGETS: readonly Target[] = [];

/** The compiled, immutable parts a transaction runs against. */
export interface CompiledRules {
  /** Per phase, the rules in run order (see program.ts). */
  programs: Map<number, PhaseProgram>;
  /** Wall-clock budget (ms) for inspecting a request that carries large values; 0 = none. */
  inspectionBudgetMs: number;
  /**
   * Transformation results and prefilter hits of short values, shared by the rule set's
   * transactions (indexed by this rule set's chain ids, so never shared between rule sets).
   */
  sharedValueCache: SharedValueCache;
  /** Rules gated on the literal prefilter (see candidate-plan.ts), and the groups learned active. */
  candidates: CandidatePlan;
  candidateUnions: CandidateUnions;
  /** Records of the constant rules (see constant-plan.ts). */
  constantMemo: ConstantMemo;
  /** Number of rule targets (see Target.slot), and those whose values may change with the body. */
  slots: number;
  bodySlots: number[];
  settings: EngineSettings;
  engineMode: EngineMode;
}

/**
 * Implements the public Transaction interface (see index.ts). It is also the
 * evaluation context and ctl target itself, so starting a transaction allocates no
 * closures beyond the macro resolver.
 */
export class WafTransaction implements EvalContext, CtlTarget {
  readonly matches: RuleMatch[] = [];
  readonly data: TxData;
  readonly runtime: OperatorRuntime;
  readonly ctl: CtlTarget = this;
  private mode: EngineMode;
  private bodyAccess: boolean;
  private forceBodyVariable = false;
  private bodyLimit: number;
  private processorChosen: string | undefined;
  readonly exceptions = new RuntimeExceptions();
  private readonly itemCache = new Map<string, Item[]>();
  /** Selected items per rule target slot (request collections only; cleared when the body is parsed). */
  private selection: Array<readonly Item[] | undefined>;
  /** Item lists of keyed stores (TX, IP…) by store version. */
  private readonly storeCache = new Map<string, { version: number; items: Item[] }>();
  readonly values: ValueCache;
  private readonly candidates: Candidates;
  private allowRequest = false;
  /** No request-dependent event changed which constant rules run (see constant-memo.ts). */
  private undisturbed = true;
  /** The request carries a value large enough for the inspection budget to be watched. */
  private heavy = false;
  /** Inspection time (ms) used so far by this (heavy) request, and when the running phase must end. */
  private spent = 0;
  private deadline = Infinity;
  private interruption: Interruption | undefined;

  constructor(
    private readonly rules: CompiledRules,
    request: WafRequest,
  ) {
    this.mode = rules.engineMode;
    this.bodyAccess = rules.settings.requestBodyAccess;
    this.bodyLimit = rules.settings.requestBodyLimit;
    this.selection = new Array<readonly Item[] | undefined>(rules.slots);
    this.values = new ValueCache(rules.sharedValueCache, rules.candidates.index);
    this.candidates = new Candidates(rules.candidates, rules.candidateUnions);
    const h = readHeaders(request.headers);
    const line = requestLineVars(request);
    this.data = {
      line,
      headers: h.headers,
      cookies: h.cookies,
      argsGet: parseUrlEncoded(line.queryString, rules.settings.argumentSeparator),
      argsPost: [],
      files: [],
      partHeaders: [],
      multipartFlags: undefined,
      multipartStrictError: undefined,
      body: undefined,
      bodyLength: 0,
      processor: defaultProcessor(h.contentType),
      reqbodyError: 0,
      reqbodyErrorMsg: '',
      xml: undefined,
      tx: new KeyedStore('TX'),
      persistent: new Map(),
      env: new KeyedStore('ENV'),
      matchedVar: '',
      matchedVarName: '',
      matchedVars: [],
      matchSerial: 0,
      currentRule: undefined,
      remoteAddr: request.remoteAddress,
      remotePort: request.remotePort,
      serverPort: request.serverPort,
      serverName: serverNameOf(h.host),
      uniqueId: undefined,
      startTime: performance.now(),
    };
    this.runtime = { expand: (m) => expandMacro(m, this.resolve), captures: undefined, prefiltered: false };
    this.heavy = request.uri.length > HEAVY_VALUE || h.longest > HEAVY_VALUE;
  }

  /** Shorthand for the transaction's data. */
  private get d(): TxData {
    return this.data;
  }

  setEngineMode(mode: EngineMode): void {
    this.mode = mode;
  }
  setBodyProcessor(processor: string): void {
    this.processorChosen = processor;
    this.data.processor = processor;
  }
  setBodyAccess(on: boolean): void {
    this.bodyAccess = on;
  }
  setForceBodyVariable(on: boolean): void {
    this.forceBodyVariable = on;
  }
  setBodyLimit(limit: number): void {
    this.bodyLimit = limit;
  }

  private header(name: string, headers = this.d.headers): string {
    return headers.find((h) => h.key.toLowerCase() === name)?.value ?? '';
  }

  /** True when phase 2 should receive the body. */
  get wantsBody(): boolean {
    if (this.mode === 'Off' || !this.bodyAccess || this.allowRequest || this.interruption) return false;
    const length = Number(this.header('content-length') || '0');
    return length > 0 || this.header('transfer-encoding') !== '';
  }

  /** Current body size limit (SecRequestBodyLimit, or ctl:requestBodyLimit). */
  get requestBodyLimit(): number {
    return this.bodyLimit;
  }

  tx(name: string): string | undefined {
    return this.d.tx.get(name);
  }

  processHeaders(): Interruption | undefined {
    return this.heavy ? this.timed(1, performance.now()) : this.runPhase(1);
  }

  processBody(body: Buffer | undefined, truncated: boolean): Interruption | undefined {
    if (this.interruption) return undefined;
    if (body !== undefined && body.length > HEAVY_VALUE) this.heavy = true;
    // Parsing a large body is inspection time too.
    const start = this.heavy ? performance.now() : 0;
    if (body !== undefined && this.bodyAccess && this.mode !== 'Off') {
      const s = this.rules.settings;
      if (truncated && s.requestBodyLimitAction === 'Reject') {
        this.d.reqbodyError = 1;
        this.d.reqbodyErrorMsg = `Request body is larger than the configured limit (${this.bodyLimit}).`;
        if (this.mode === 'On') {
          this.interruption = { status: 413, ruleId: 0, action: 'deny' };
          return this.interruption;
        }
      }
      processRequestBody(body.toString('latin1'), this.d, {
        processor: this.processorChosen ?? this.d.processor,
        forceBodyVariable: this.forceBodyVariable,
        argumentSeparator: s.argumentSeparator,
        noFilesLimit: s.requestBodyNoFilesLimit,
        contentType: this.header('content-type'),
      });
      // What the body may have changed is looked at again; the request line, headers and
      // cookies keep their selections and scans.
      for (const c of this.itemCache.keys()) if (!fixedBeforeBody(c)) this.itemCache.delete(c);
      for (const slot of this.rules.bodySlots) this.selection[slot] = undefined;
      this.candidates.resetBody();
    }
    return this.heavy ? this.timed(2, start) : this.runPhase(2);
  }

  /**
   * Runs a phase of a request carrying a large value, within what is left of the
   * inspection budget. The budget counts the engine's own time (phases and body
   * parsing), not the wait for the body. It is a hard deadline (see deadline.ts): when
   * the phase runs past it — even inside one regex execution — it is cut off and the
   * request is refused (fail closed).
   */
  private timed(phase: number, start: number): Interruption | undefined {
    const budget = this.rules.inspectionBudgetMs;
    if (budget <= 0) return this.runPhase(phase);
    this.deadline = start + budget - this.spent;
    let result: Interruption | undefined;
    const done = runBefore(() => (result = this.runPhase(phase)), this.deadline - performance.now());
    this.spent += performance.now() - start;
    if (done) return result;
    this.budgetExceeded();
    return this.interruption;
  }

  private runPhase(phase: number): Interruption | undefined {
    if (this.mode === 'Off' || this.interruption || this.allowRequest) return undefined;
    const program = this.rules.programs.get(phase);
    if (program === undefined) return undefined;
    const rules = program.rules;
    const memo = this.rules.constantMemo;
    const exceptions = this.exceptions;
    let i = 0;
    while (i < rules.length) {
      const rule = rules[i] as Rule;
      const removals = !exceptions.empty;
      if (removals && exceptions.isRemoved(rule)) {
        i++;
        continue;
      }
      if (rule.gate !== undefined && !this.candidates.mayMatch(rule.gate, this)) {
        i++;
        continue;
      }
      let hit: RuleHit | undefined;
      if (rule.constant >= 0 && this.undisturbed && !removals) {
        const segment = memo.segment(program, i);
        if (segment !== undefined) {
          i = memo.replay(segment, this.data);
          continue;
        }
        hit = memo.run(rule, this);
      } else {
        hit = evaluateRule(rule, this, removals ? exceptions.exclusionsFor(rule) : NO_TARGETS);
        if (this.heavy && this.overBudget()) return this.interruption;
      }
      if (hit === undefined) {
        i++;
        continue;
      }
      if (rule.log) this.record(rule, hit.variable);
      const stop = this.disrupt(rule);
      if (stop === 'interrupt') return this.interruption;
      if (stop === 'phase') {
        this.undisturbed = false;
        return undefined;
      }
      let next = i + 1;
      if (rule.skipAfter !== undefined) next = program.after[i] as number;
      else if (rule.skip > 0) next = Math.min(i + 1 + rule.skip, rules.length);
      // A request-dependent jump over constant rules changes which of them run.
      const before = program.constantsBefore;
      if (rule.constant < 0 && (before[next] as number) > (before[i + 1] as number)) this.undisturbed = false;
      i = next;
    }
    return undefined;
  }

  /**
   * ReDoS guard: once a request with large values has used up the inspection budget,
   * inspection stops and the request is refused (fail closed) — in DetectionOnly it is
   * only reported. See NOTES.md "ReDoS".
   */
  private overBudget(): boolean {
    if (performance.now() <= this.deadline) return false;
    this.budgetExceeded();
    return true;
  }

  /** Stops inspection: a match with id 0, and in `On` mode a 403 interruption. */
  private budgetExceeded(): void {
    const budget = this.rules.inspectionBudgetMs;
    this.matches.push({
      id: 0,
      phase: this.d.currentRule?.phase ?? 0,
      msg: `Inspection time budget exceeded (${budget} ms)`,
      data: `last rule ${this.d.currentRule?.id ?? 0}`,
      severity: 'CRITICAL',
      tags: ['engine/inspection-budget'],
      variable: '',
      file: '',
      line: 0,
    });
    if (this.mode === 'On') this.interruption = { status: 403, ruleId: 0, action: 'deny' };
    else this.allowRequest = true; // nothing more is inspected for this request
  }

  private disrupt(rule: Rule): 'interrupt' | 'phase' | undefined {
    if (this.mode !== 'On') return undefined;
    let action = rule.disruptive ?? rule.defaultDisruptive;
    if (action === 'block') action = rule.defaultDisruptive;
    switch (action) {
      case 'deny':
      case 'drop':
      case 'redirect':
        this.interruption = { status: rule.status ?? (action === 'redirect' ? 302 : 403), ruleId: rule.id, action };
        return 'interrupt';
      case 'allow':
      case 'allowRequest':
        this.allowRequest = true;
        return 'phase';
      case 'allowPhase':
        return 'phase';
    }
    return undefined;
  }

  private record(rule: Rule, variable: string): void {
    this.matches.push({
      id: rule.id,
      phase: rule.phase,
      msg: rule.msg ? expandMacro(rule.msg, this.resolve) : '',
      data: rule.logdata ? expandMacro(rule.logdata, this.resolve) : '',
      severity: rule.severity,
      tags: rule.tags,
      variable,
      file: rule.file,
      line: rule.line,
    });
  }

  items(target: Target, exclusions: readonly Target[], cacheable = false): readonly Item[] {
    const cache = cacheable && !target.live && target.slot >= 0;
    if (cache) {
      const hit = this.selection[target.slot];
      if (hit) return hit;
    }
    const c = target.collection;
    let selected: readonly Item[];
    const store = target.live ? storeFor(this.d, c) : undefined;
    if (store && target.match.kind === 'key') {
      // Direct look-up: TX:foo is by far the most common target in the CRS.
      selected = store.lookup(target.match.lower);
    } else if (store && target.match.kind === 'regex') {
      // TX:/^HEADER_NAME_/ and the like: test the stored lower-case keys (the selector is caseless).
      const m = target.match;
      selected = excludeItems(
        store.matching((key, lower) => regexKeyMatches(m, key, lower)),
        c,
        exclusions,
      );
    } else {
      let base: Item[];
      if (c === 'XML') base = xmlItems(this.d, target);
      else if (store) base = this.storeItems(c, store);
      else if (target.live) base = baseItems(c, this.d, this.ruleField);
      else {
        const cached = this.itemCache.get(c);
        if (cached) base = cached;
        else {
          base = baseItems(c, this.d, this.ruleField);
          this.itemCache.set(c, base);
        }
      }
      selected = c === 'XML' ? base : selectItems(base, target, exclusions);
    }
    if (target.count) selected = [makeItem(`&${c}`, '', String(selected.length))];
    else if (selected.length === 0) selected = NO_ITEMS;
    if (cache) this.selection[target.slot] = selected;
    return selected;
  }

  private storeItems(c: string, store: KeyedStore): Item[] {
    const cached = this.storeCache.get(c);
    if (cached && cached.version === store.version) return cached.items;
    const items = store.items();
    this.storeCache.set(c, { version: store.version, items });
    return items;
  }

  private readonly ruleField = (key: string): string | undefined => ruleFieldOf(this.d, key, this.resolve);

  readonly resolve = (ref: MacroRef): string => {
    const c = ref.collection;
    if (ref.key === undefined) {
      if (c === 'MATCHED_VAR') return this.d.matchedVar;
      if (c === 'MATCHED_VAR_NAME') return this.d.matchedVarName;
      return this.items(refTarget(c, undefined), [])[0]?.value ?? '';
    }
    if (c === 'TX') return (this.d.tx.lookup(ref.lower as string)[0] as Item | undefined)?.value ?? '';
    if (c === 'RULE') return this.ruleField(ref.lower as string) ?? '';
    return this.items(refTarget(c, ref.key), [])[0]?.value ?? '';
  };
}
