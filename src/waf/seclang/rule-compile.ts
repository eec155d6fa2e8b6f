/** Compiles a rule draft into the runtime model. */
import type { Disruptive, Rule, RuleLink, SetVar, Ctl, Target } from '../engine/rule.js';
import { parseMacro, type MacroText } from '../macro.js';
import { findOperator, type OperatorContext, type PrefilteredOperator } from '../operators/index.js';
import { findTransformation, type Transformation } from '../transformations/index.js';
import type { RawAction } from './actions-parser.js';
import { compileCtl } from './ctl-compile.js';
import type { LinkDraft, RuleDraft } from './draft.js';
import { compileSetVar } from './setvar-compile.js';
import { compileTargets } from './targets-compile.js';

/** Why a rule did not compile: `refused` = valid but unsupported, `error` = malformed. */
export interface CompileProblem {
  kind: 'refused' | 'error';
  line: number;
  message: string;
}

const SEVERITIES = ['EMERGENCY', 'ALERT', 'CRITICAL', 'ERROR', 'WARNING', 'NOTICE', 'INFO', 'DEBUG'];
const IGNORED_ACTIONS = new Set([
  'id',
  'phase',
  'chain',
  'auditlog',
  'noauditlog',
  'maturity',
  'accuracy',
  'expirevar',
  'initcol',
  'setuid',
  'setsid',
  'setrsc',
  'deprecatevar',
  'sanitisearg',
  'sanitisematched',
  'sanitisematchedbytes',
  'sanitiserequestheader',
  'sanitiseresponseheader',
  'xmlns',
  'pause',
  'append',
  'prepend',
  'proxy',
  'sanitizearg',
  'sanitizematched',
]);
const DISRUPTIVE = new Set(['pass', 'deny', 'drop', 'block', 'allow', 'redirect']);

/** Compiles `draft`; `ctx` is handed to operator factories. */
export function compileRule(draft: RuleDraft, ctx: OperatorContext): Rule | CompileProblem {
  const rule: Rule = {
    id: draft.id,
    phase: draft.phase,
    file: draft.file,
    line: draft.line,
    links: [],
    msg: undefined,
    logdata: undefined,
    severity: undefined,
    tags: [],
    ver: undefined,
    rev: undefined,
    log: true,
    disruptive: undefined,
    defaultDisruptive: 'pass',
    status: undefined,
    redirectUrl: undefined,
    skip: 0,
    skipAfter: undefined,
    gate: undefined,
    constant: -1,
  };
  // Phase defaults: log flag, disruptive action for `block`, and default transformations.
  let defaultTransforms: RawAction[] = [];
  for (const a of draft.defaults.actions) {
    if (a.name === 'log') rule.log = true;
    else if (a.name === 'nolog') rule.log = false;
    else if (DISRUPTIVE.has(a.name)) rule.defaultDisruptive = disruptiveOf(a);
    else if (a.name === 't') defaultTransforms.push(a);
    else if (a.name === 'status') rule.status = Number(a.value);
  }
  for (let i = 0; i < draft.links.length; i++) {
    const linkDraft = draft.links[i] as LinkDraft;
    const starter = i === 0;
    const extra = starter ? draft.extraTargets : [];
    const link = compileLink(linkDraft, rule, starter, starter ? defaultTransforms : defaultTransforms, extra, ctx);
    if ('kind' in link && (link.kind === 'refused' || link.kind === 'error')) return link;
    rule.links.push(link as RuleLink);
  }
  defaultTransforms = [];
  return rule;
}

function disruptiveOf(a: RawAction): Disruptive {
  if (a.name === 'allow') {
    const v = (a.value ?? '').toLowerCase();
    return v === 'phase' ? 'allowPhase' : v === 'request' ? 'allowRequest' : 'allow';
  }
  return a.name as Disruptive;
}

function compileLink(
  d: LinkDraft,
  rule: Rule,
  starter: boolean,
  defaults: RawAction[],
  extraTargets: string[],
  ctx: OperatorContext,
): RuleLink | CompileProblem {
  const problem = (kind: CompileProblem['kind'], message: string): CompileProblem => ({ kind, line: d.line, message });
  let targets: Target[] = [];
  let exclusions: Target[] = [];
  if (d.variables !== undefined) {
    for (const text of [d.variables, ...extraTargets]) {
      const compiled = compileTargets(text);
      if (typeof compiled === 'string') return problem('error', compiled);
      targets.push(...compiled.targets);
      exclusions.push(...compiled.exclusions);
    }
  }
  const op = compileOperator(d.operator, ctx);
  if ('kind' in op) return { ...op, line: d.line };
  const transforms: Transformation[] = [];
  const names: string[] = [];
  const setvars: SetVar[] = [];
  const setenvs: RuleLink['setenvs'] = [];
  const ctls: Ctl[] = [];
  let multiMatch = false;
  let capture = false;
  for (const a of [...defaults, ...d.actions]) {
    const v = a.value ?? '';
    switch (a.name) {
      case 't': {
        if (v.toLowerCase() === 'none') {
          transforms.length = 0;
          names.length = 0;
          break;
        }
        const fn = findTransformation(v);
        if (!fn) return problem('error', `unknown transformation t:${v}`);
        transforms.push(fn);
        names.push(v.toLowerCase());
        break;
      }
      case 'setvar': {
        const sv = compileSetVar(v);
        if (typeof sv === 'string') return problem('error', sv);
        setvars.push(sv);
        break;
      }
      case 'setenv': {
        const eq = v.indexOf('=');
        setenvs.push({ name: parseMacro(eq < 0 ? v : v.slice(0, eq)), value: parseMacro(eq < 0 ? '1' : v.slice(eq + 1)) });
        break;
      }
      case 'ctl': {
        const c = compileCtl(v);
        if (typeof c === 'string') return problem('error', c);
        ctls.push(c);
        break;
      }
      case 'multimatch':
        multiMatch = true;
        break;
      case 'capture':
        capture = true;
        break;
      case 'exec':
        return problem('refused', 'action exec is not supported: the engine never runs external programs');
      default: {
        const r = ruleLevelAction(a, rule, starter);
        if (r !== undefined) return problem('error', r);
      }
    }
  }
  if (starter && d.variables === undefined) {
    targets = [];
    exclusions = [];
  }
  const transformKeys = names.map((_, k) => names.slice(0, k + 1).join(','));
  return {
    targets,
    exclusions,
    operator: op.fn,
    prefilter: (op.fn as PrefilteredOperator).prefilter,
    negated: op.negated,
    operatorText: d.operator ?? '',
    transforms,
    transformKeys,
    chainIds: [],
    hitSlot: 0,
    multiMatch,
    capture,
    setvars,
    setenvs,
    ctls,
    unconditional: d.variables === undefined,
  };
}

/** Handles metadata and flow actions; returns an error message for unknown ones. */
function ruleLevelAction(a: RawAction, rule: Rule, starter: boolean): string | undefined {
  const v = a.value ?? '';
  if (DISRUPTIVE.has(a.name)) {
    if (starter) rule.disruptive = disruptiveOf(a);
    if (a.name === 'redirect') rule.redirectUrl = v;
    return undefined;
  }
  switch (a.name) {
    case 'msg':
      rule.msg = parseMacro(v);
      return undefined;
    case 'logdata':
      rule.logdata = parseMacro(v);
      return undefined;
    case 'tag':
      rule.tags.push(v);
      return undefined;
    case 'severity': {
      const n = Number(v);
      rule.severity = Number.isInteger(n) && SEVERITIES[n] ? SEVERITIES[n] : v.toUpperCase();
      return undefined;
    }
    case 'ver':
      rule.ver = v;
      return undefined;
    case 'rev':
      rule.rev = v;
      return undefined;
    case 'log':
      if (starter) rule.log = true;
      return undefined;
    case 'nolog':
      if (starter) rule.log = false;
      return undefined;
    case 'status': {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 100 || n > 999) return `invalid status '${v}'`;
      rule.status = n;
      return undefined;
    }
    case 'skip': {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) return `invalid skip '${v}'`;
      rule.skip = n;
      return undefined;
    }
    case 'skipafter':
      rule.skipAfter = v;
      return undefined;
  }
  if (IGNORED_ACTIONS.has(a.name)) return undefined;
  return `unknown action '${a.name}'`;
}

function compileOperator(text: string | undefined, ctx: OperatorContext): { fn: RuleLink['operator']; negated: boolean } | Omit<CompileProblem, 'line'> {
  if (text === undefined) return { fn: () => true, negated: false };
  let rest = text;
  let negated = false;
  if (rest.startsWith('!')) {
    negated = true;
    rest = rest.slice(1);
  }
  let name = 'rx';
  let param = rest;
  if (rest.startsWith('@')) {
    const m = /^@([A-Za-z0-9]+)\s*([\s\S]*)$/.exec(rest);
    if (!m) return { kind: 'error', message: `malformed operator '${text}'` };
    name = m[1] as string;
    param = m[2] as string;
  }
  const factory = findOperator(name);
  if (typeof factory === 'string') return { kind: factory.startsWith('unknown') ? 'error' : 'refused', message: factory };
  const macro: MacroText = parseMacro(param);
  const fn = factory(macro, ctx);
  if (typeof fn === 'string') return { kind: 'refused', message: fn };
  return { fn, negated };
}
