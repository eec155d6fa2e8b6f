/**
 * Palisade's WAF engine: loads ModSecurity SecLang rules (the OWASP CRS 3.3/4.x
 * request rules) and evaluates requests against them in phases 1 (headers) and 2
 * (body). It knows nothing about the proxy: it takes a request view and returns
 * matches and, in `On` mode, an interruption.
 *
 * Persistent collections (IP, GLOBAL, SESSION, USER, RESOURCE) exist per transaction
 * only: nothing persists across requests. Response phases are never run.
 */
import { CandidateUnions } from './engine/candidate-unions.js';
import { ConstantMemo } from './engine/constant-memo.js';
import { WafTransaction, type CompiledRules } from './engine/transaction.js';
import { enableLinearFallback } from './regex/linear-fallback.js';
import { compileConfig } from './seclang/compile.js';
import { expandGlob } from './seclang/glob.js';
import { newConfigState, readSource } from './seclang/loader.js';
import type { EngineMode, Interruption, LoadError, LoadReport, RuleMatch, RuleSource, WafRequest } from './types.js';

export type { EngineMode, Interruption, LoadError, LoadReport, RuleMatch, RuleSource, WafRequest } from './types.js';
export { BASE_CONFIG } from './base-config.js';

/** Default `LoadOptions.inspectionBudgetMs`: a request with large values holds the event loop at most about this long. */
const DEFAULT_INSPECTION_BUDGET_MS = 35;

/** What to load. */
export interface LoadOptions {
  /** Files in order; globs allowed like Include. A RuleSource with `text` is used as given. */
  files: Array<string | RuleSource>;
  /** SecAction/setvar lines applied before the files, e.g. the paranoia level. */
  preamble?: string;
  /** Directives applied after the files (e.g. SecRuleRemoveById exclusions). */
  postamble?: string;
  /** Overrides SecRuleEngine from the files (the plugin may force DetectionOnly). */
  engineMode?: EngineMode;
  /** Overrides SecRequestBodyLimit (bytes). */
  requestBodyLimit?: number;
  /** Overrides SecRequestBodyNoFilesLimit (bytes). */
  requestBodyNoFilesLimit?: number;
  /**
   * Enable V8's linear-time regex fallback for this process (default true). It is a
   * process-wide V8 flag; see NOTES.md "ReDoS".
   */
  linearRegexFallback?: boolean;
  /**
   * Budget in ms of the engine's own time (processHeaders, body parsing, processBody;
   * not the wait for the body) for inspecting one request that carries a value over
   * 4 KiB (default 35; 0 disables). It is a hard deadline, enforced even inside a single
   * regex execution: when exceeded, inspection stops; in `On` mode the request is
   * refused with 403 (rule id 0), in DetectionOnly a match with id 0 is reported.
   * Requests without large values are never timed.
   */
  inspectionBudgetMs?: number;
}

/** A compiled rule set; immutable and shareable by concurrent transactions. */
export interface RuleSet {
  /** sha256 over the compiled rules, stable across loads of the same text. */
  readonly hash: string;
  readonly engineMode: EngineMode;
  /** SecRequestBodyLimit in force: the plugin reads at most this many body bytes. */
  readonly requestBodyLimit: number;
  begin(request: WafRequest): Transaction;
}

/** One request's evaluation. Call processHeaders, then processBody (always; with undefined when there is no body). */
export interface Transaction {
  /** Runs phase 1 (headers). Returns the interruption if a disruptive rule fired (never in DetectionOnly). */
  processHeaders(): Interruption | undefined;
  /** True when phase 2 needs the body (SecRequestBodyAccess On, not turned off by ctl, and a body is declared). */
  readonly wantsBody: boolean;
  /** Runs phase 2 with the body bytes read so far (at most the limit); `truncated` when the client sent more. */
  processBody(body: Buffer | undefined, truncated: boolean): Interruption | undefined;
  /** Every rule that matched with `log` on (chains under the starter's id), in order. */
  readonly matches: readonly RuleMatch[];
  /** TX variables (e.g. anomaly_score, blocking_inbound_anomaly_score) for logging. */
  tx(name: string): string | undefined;
}

/**
 * Loads and compiles rules. Every problem is collected: syntax errors and unknown
 * directives make the load fail (`ok: false`, all errors listed); rules that are valid
 * but use something the engine refuses (e.g. `@rbl`, `@geoLookup`) are left out and
 * listed in `report.refused`.
 */
export function loadRules(options: LoadOptions): { ok: true; ruleSet: RuleSet; report: LoadReport } | { ok: false; errors: LoadError[] } {
  if (options.linearRegexFallback !== false) enableLinearFallback();
  const state = newConfigState();
  if (options.preamble) readSource({ file: '<preamble>', text: options.preamble }, state);
  for (const f of options.files) {
    if (typeof f !== 'string') {
      readSource(f, state);
      continue;
    }
    const files = expandGlob(f, process.cwd());
    if (files.length === 0) state.errors.push({ file: f, line: 0, message: 'no file matches' });
    for (const file of files) readSource({ file }, state);
  }
  if (options.postamble) readSource({ file: '<postamble>', text: options.postamble }, state);
  const compiled = compileConfig(state);
  const errors = [...state.errors, ...compiled.errors];
  if (errors.length > 0) return { ok: false, errors };
  const settings = { ...state.settings };
  if (options.engineMode) settings.engineMode = options.engineMode;
  if (options.requestBodyLimit !== undefined) settings.requestBodyLimit = options.requestBodyLimit;
  if (options.requestBodyNoFilesLimit !== undefined) settings.requestBodyNoFilesLimit = options.requestBodyNoFilesLimit;
  const rules: CompiledRules = {
    programs: compiled.programs,
    slots: compiled.slots,
    bodySlots: compiled.bodySlots,
    settings,
    engineMode: settings.engineMode,
    inspectionBudgetMs: options.inspectionBudgetMs ?? DEFAULT_INSPECTION_BUDGET_MS,
    sharedValueCache: new Map(),
    candidates: compiled.candidates,
    candidateUnions: new CandidateUnions(compiled.candidates),
    constantMemo: new ConstantMemo(compiled.constants),
  };
  const ruleSet: RuleSet = {
    hash: compiled.hash,
    engineMode: settings.engineMode,
    requestBodyLimit: settings.requestBodyLimit,
    begin: (request) => new WafTransaction(rules, request),
  };
  const report: LoadReport = {
    rules: compiled.rules,
    translatedRegexes: compiled.translatedRegexes,
    refused: compiled.refused,
    ignoredDirectives: state.ignored,
  };
  return { ok: true, ruleSet, report };
}
