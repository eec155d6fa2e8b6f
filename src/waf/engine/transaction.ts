/** One request's run through the rule set. */
import { expandMacro, type MacroRef } from '../macro.js';
import type { OperatorRuntime } from '../operators/index.js';
import type { EngineSettings } from '../seclang/settings.js';
import type { EngineMode, Interruption, RuleMatch, WafRequest } from '../types.js';
import { parseUrlEncoded } from '../body/urlencoded.js';
import { defaultProcessor, processRequestBody } from './body-run.js';
import { baseItems, selectItems } from './collect.js';
import { KeyedStore, makeItem, type Item, type TxData } from './data.js';
import type { CtlTarget } from './actions-run.js';
import { evaluateRule, type EvalContext } from './evaluate.js';
import { parseCookies, requestLineVars } from './request-line.js';
import type { PhaseEntry, Rule, RuleLink, Target } from './rule.js';
import { HEAVY_VALUE, nextUniqueId, refTarget, ruleFieldOf, skipRules, storeFor, xmlItems } from './lookup.js';
import { RuntimeExceptions } from './runtime-exceptions.js';

const NO_ITEMS: readonly Item[] = [];
/** Values up to this length share transformation results across transactions. */
const SHARED_VALUE_MAX = 256;
const SHARED_VALUE_ENTRIES = 8192;

/** The compiled, immutable parts a transaction runs against. */
export interface CompiledRules {
  phases: Map<number, PhaseEntry[]>;
  /** Wall-clock budget (ms) for inspecting a request that carries large values; 0 = none. */
  inspectionBudgetMs: number;
  /**
   * Transformation results of short values shared by the rule set's transactions
   * (indexed by this rule set's chain ids, so never shared between rule sets).
   */
  sharedValueCache: Map<string, Array<string | undefined>>;
  /** Number of rule targets (see Target.slot). */
  slots: number;
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
  /** Transformation results shared by items with the same value: value → results by chain id. */
  private readonly valueCache = new Map<string, Array<string | undefined>>();
  private allowRequest = false;
  /** The request carries a value large enough for the inspection budget to be watched. */
  private heavy = false;
  private interruption: Interruption | undefined;

  constructor(private readonly rules: CompiledRules, request: WafRequest) {
    this.mode = rules.engineMode;
    this.bodyAccess = rules.settings.requestBodyAccess;
    this.bodyLimit = rules.settings.requestBodyLimit;
    this.selection = new Array<readonly Item[] | undefined>(rules.slots);
    const headers = request.headers.map(([key, value]) => ({ key, value }));
    const cookies = headers.filter((h) => h.key.toLowerCase() === 'cookie').flatMap((h) => parseCookies(h.value));
    const line = requestLineVars(request);
    const host = headers.find((h) => h.key.toLowerCase() === 'host')?.value ?? '';
    this.data = {
      line, headers, cookies, argsGet: parseUrlEncoded(line.queryString, rules.settings.argumentSeparator), argsPost: [],
      files: [], partHeaders: [], multipartFlags: undefined, multipartStrictError: undefined, body: undefined, bodyLength: 0,
      processor: defaultProcessor(this.header('content-type', headers)), reqbodyError: 0, reqbodyErrorMsg: '', xml: undefined,
      tx: new KeyedStore('TX'), persistent: new Map(), env: new KeyedStore('ENV'), matchedVar: '', matchedVarName: '', matchedVars: [],
      currentRule: undefined, remoteAddr: request.remoteAddress, remotePort: request.remotePort, serverPort: request.serverPort,
      serverName: host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1'), uniqueId: nextUniqueId(),
      startTime: performance.now(),
    };
    this.runtime = { expand: (m) => expandMacro(m, this.resolve), captures: undefined, prefiltered: false };
    this.heavy = request.uri.length > HEAVY_VALUE || request.headers.some(([, v]) => v.length > HEAVY_VALUE);
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
    return this.runPhase(1);
  }

  processBody(body: Buffer | undefined, truncated: boolean): Interruption | undefined {
    if (this.interruption) return undefined;
    if (body !== undefined && this.bodyAccess && this.mode !== 'Off') {
      const s = this.rules.settings;
      if (body.length > HEAVY_VALUE) this.heavy = true;
      if (truncated && s.requestBodyLimitAction === 'Reject') {
        this.d.reqbodyError = 1;
        this.d.reqbodyErrorMsg = `Request body is larger than the configured limit (${this.bodyLimit}).`;
        if (this.mode === 'On') {
          this.interruption = { status: 413, ruleId: 0, action: 'deny' };
          return this.interruption;
        }
      }
      processRequestBody(body.toString('latin1'), this.d, {
        processor: this.processorChosen ?? this.d.processor, forceBodyVariable: this.forceBodyVariable,
        argumentSeparator: s.argumentSeparator, noFilesLimit: s.requestBodyNoFilesLimit, contentType: this.header('content-type'),
      });
      this.itemCache.clear();
      this.selection = new Array<readonly Item[] | undefined>(this.rules.slots);
    }
    return this.runPhase(2);
  }

  private runPhase(phase: number): Interruption | undefined {
    if (this.mode === 'Off' || this.interruption || this.allowRequest) return undefined;
    const entries = this.rules.phases.get(phase) ?? [];
    let i = 0;
    while (i < entries.length) {
      const entry = entries[i] as PhaseEntry;
      if (entry.kind === 'marker' || this.exceptions.isRemoved(entry.rule)) {
        i++;
        continue;
      }
      const rule = entry.rule;
      const hit = evaluateRule(rule, this, this.exceptions.exclusionsFor(rule));
      if (this.heavy && this.overBudget()) return this.interruption;
      if (!hit) {
        i++;
        continue;
      }
      if (rule.log) this.record(rule, hit.variable);
      const stop = this.disrupt(rule);
      if (stop === 'interrupt') return this.interruption;
      if (stop === 'phase') return undefined;
      if (rule.skipAfter !== undefined) i = entry.skipAfterIndex + 1;
      else if (rule.skip > 0) i = skipRules(entries, i, rule.skip);
      else i++;
    }
    return undefined;
  }

  /**
   * ReDoS guard: once a request with large values has used up the inspection budget,
   * inspection stops and the request is refused (fail closed) — in DetectionOnly it is
   * only reported. See NOTES.md "ReDoS".
   */
  private overBudget(): boolean {
    const budget = this.rules.inspectionBudgetMs;
    if (budget <= 0 || performance.now() - this.d.startTime <= budget) return false;
    this.matches.push({
      id: 0, phase: this.d.currentRule?.phase ?? 0, msg: `Inspection time budget exceeded (${budget} ms)`,
      data: `last rule ${this.d.currentRule?.id ?? 0}`, severity: 'CRITICAL', tags: ['engine/inspection-budget'],
      variable: '', file: '', line: 0,
    });
    if (this.mode === 'On') this.interruption = { status: 403, ruleId: 0, action: 'deny' };
    else this.allowRequest = true; // nothing more is inspected for this request
    return true;
  }

  private disrupt(rule: Rule): 'interrupt' | 'phase' | undefined {
    if (this.mode !== 'On') return undefined;
    let action = rule.disruptive ?? rule.defaultDisruptive;
    if (action === 'block') action = rule.defaultDisruptive;
    switch (action) {
      case 'deny': case 'drop': case 'redirect':
        this.interruption = { status: rule.status ?? (action === 'redirect' ? 302 : 403), ruleId: rule.id, action };
        return 'interrupt';
      case 'allow': case 'allowRequest':
        this.allowRequest = true;
        return 'phase';
      case 'allowPhase':
        return 'phase';
    }
    return undefined;
  }

  private record(rule: Rule, variable: string): void {
    this.matches.push({
      id: rule.id, phase: rule.phase, msg: rule.msg ? expandMacro(rule.msg, this.resolve) : '',
      data: rule.logdata ? expandMacro(rule.logdata, this.resolve) : '', severity: rule.severity, tags: rule.tags,
      variable, file: rule.file, line: rule.line,
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

  transform(link: RuleLink, item: Item, upTo: number): string {
    const ids = link.chainIds;
    let cache = item.tc;
    if (cache === undefined) {
      // First transformation of this item: share results with items of the same value —
      // within the transaction, and across transactions for short values (header values
      // repeat from request to request; transformations are pure functions of the bytes).
      const shared = item.value.length <= SHARED_VALUE_MAX;
      const values = shared ? this.rules.sharedValueCache : this.valueCache;
      cache = values.get(item.value);
      if (cache === undefined) {
        cache = [];
        if (shared && values.size >= SHARED_VALUE_ENTRIES) values.clear();
        values.set(item.value, cache);
      }
      item.tc = cache;
    }
    const done = cache[ids[upTo - 1] as number];
    if (done !== undefined) return done;
    // Longest cached prefix, then compute forward, caching each step.
    let k = upTo - 1;
    while (k > 0 && cache[ids[k - 1] as number] === undefined) k--;
    let v = k === 0 ? item.value : (cache[ids[k - 1] as number] as string);
    for (let step = k; step < upTo; step++) {
      v = (link.transforms[step] as (s: string) => string)(v);
      cache[ids[step] as number] = v;
    }
    return v;
  }

  readonly resolve = (ref: MacroRef): string => {
    const c = ref.collection;
    if (ref.key === undefined) {
      if (c === 'MATCHED_VAR') return this.d.matchedVar;
      if (c === 'MATCHED_VAR_NAME') return this.d.matchedVarName;
      return this.items(refTarget(c, undefined), [])[0]?.value ?? '';
    }
    if (c === 'TX') return this.d.tx.get(ref.key) ?? '';
    if (c === 'RULE') return this.ruleField(ref.key.toLowerCase()) ?? '';
    return this.items(refTarget(c, ref.key), [])[0]?.value ?? '';
  };
}
