/**
 * Applies directives in reading order to a configuration under construction. Rules
 * are kept as drafts; exceptions (remove/update) are recorded and applied after every
 * file has been read, so they work whatever their position (as in ModSecurity 3).
 */
import type { LoadError } from '../types.js';
import { parseActionList, type RawAction } from './actions-parser.js';
import { parseIdRanges, textPattern } from './ctl-compile.js';
import type { PhaseDefaults, RuleDraft } from './draft.js';
import type { ConfigException } from './exceptions.js';
import type { RawDirective } from './lexer.js';
import type { EngineSettings } from './settings.js';

/** Directives read and deliberately not applied: they concern responses, logs or files. */
const IGNORED = new Set([
  'secresponsebodyaccess',
  'secresponsebodymimetype',
  'secresponsebodymimetypesclear',
  'secresponsebodylimit',
  'secresponsebodylimitaction',
  'secauditengine',
  'secauditlog',
  'secauditlog2',
  'secauditlogparts',
  'secauditlogtype',
  'secauditlogformat',
  'secauditlogrelevantstatus',
  'secauditlogstoragedir',
  'secauditlogdirmode',
  'secauditlogfilemode',
  'secdebuglog',
  'secdebugloglevel',
  'secdatadir',
  'sectmpdir',
  'secuploaddir',
  'secuploadkeepfiles',
  'secuploadfilemode',
  'secuploadfilelimit',
  'secpcrematchlimit',
  'secpcrematchlimitrecursion',
  'secrequestbodyinmemorylimit',
  'secrequestbodyjsondepthlimit',
  'secargumentslimit',
  'sectmpsaveuploadedfiles',
  'secstatusengine',
  'secserversignature',
  'seccookieformat',
  'secunicodemapfile',
  'secunicodecodepage',
  'secgeolookupdb',
  'secgsblookupdb',
  'sechashengine',
  'sechashkey',
  'sechashparam',
  'sechashmethodrx',
  'sechashmethodpm',
  'secconnengine',
  'secreadstatelimit',
  'secwritestatelimit',
  'secsensorid',
  'secxmlexternalentity',
  'secstreaminbodyinspection',
  'secstreamoutbodyinspection',
  'secdisablebackendcompression',
  'secwebappid',
  'secchrootdir',
  'seccontentinjection',
  'secinterceptonerror',
  'secremoterules',
  'secremoterulesfailaction',
  'secruleperftime',
  'secuploadfilelimit',
  'seccachetransformations',
  'secguardianlog',
  'secmarkerlimit',
]);

/** Everything a configuration accumulates while being read. */
export interface ConfigState {
  settings: EngineSettings;
  /** Ordered rules and markers. */
  entries: Array<{ kind: 'rule'; draft: RuleDraft } | { kind: 'marker'; name: string; phaseHint: number }>;
  defaults: Map<number, PhaseDefaults>;
  exceptions: ConfigException[];
  ignored: Array<{ directive: string; file: string; line: number }>;
  errors: LoadError[];
  /** The rule whose `chain` the next SecRule continues. */
  openChain: RuleDraft | undefined;
  ids: Set<number>;
}

/** Phase names and numbers as ModSecurity accepts them. */
export function parsePhase(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === 'request') return 2;
  if (v === 'response') return 4;
  if (v === 'logging') return 5;
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 && n <= 5 ? n : undefined;
}

function onOff(d: RawDirective, state: ConfigState): boolean | undefined {
  const v = (d.args[0] ?? '').toLowerCase();
  if (v === 'on') return true;
  if (v === 'off') return false;
  state.errors.push({ file: d.file, line: d.line, message: `${d.name} expects On or Off, got '${d.args[0] ?? ''}'` });
  return undefined;
}

/** Applies one directive (not Include: the loader handles it). */
export function applyDirective(d: RawDirective, state: ConfigState): void {
  const err = (message: string): void => {
    state.errors.push({ file: d.file, line: d.line, message: `${d.name}: ${message}` });
  };
  const name = d.name.toLowerCase();
  if (IGNORED.has(name)) {
    state.ignored.push({ directive: d.name, file: d.file, line: d.line });
    return;
  }
  const s = state.settings;
  switch (name) {
    case 'secrule':
      if (d.args.length < 2 || d.args.length > 3) return err('expects VARIABLES OPERATOR [ACTIONS]');
      return addRule(d, d.args[0], d.args[1], d.args[2] ?? '', state, err);
    case 'secaction':
      if (d.args.length !== 1) return err('expects one action list');
      return addRule(d, undefined, undefined, d.args[0] ?? '', state, err);
    case 'secmarker':
      if (d.args.length !== 1) return err('expects one marker name');
      state.entries.push({ kind: 'marker', name: d.args[0] as string, phaseHint: 0 });
      return;
    case 'secdefaultaction': {
      const actions = parseActionList(d.args[0] ?? '');
      if (typeof actions === 'string') return err(actions);
      const phase = parsePhase(actions.find((a) => a.name === 'phase')?.value);
      if (phase === undefined) return err('needs a phase');
      if (!actions.some((a) => ['pass', 'deny', 'drop', 'block', 'allow', 'redirect'].includes(a.name))) return err('needs a disruptive action');
      state.defaults.set(phase, { actions });
      return;
    }
    case 'secruleengine': {
      const mode = ({ on: 'On', off: 'Off', detectiononly: 'DetectionOnly' } as const)[(d.args[0] ?? '').toLowerCase() as 'on'];
      if (!mode) return err(`expects On, Off or DetectionOnly`);
      s.engineMode = mode;
      return;
    }
    case 'secrequestbodyaccess': {
      const v = onOff(d, state);
      if (v !== undefined) s.requestBodyAccess = v;
      return;
    }
    case 'secrequestbodylimit':
    case 'secrequestbodynofileslimit': {
      const n = Number(d.args[0]);
      if (!Number.isInteger(n) || n < 0) return err(`expects a byte count`);
      if (name === 'secrequestbodylimit') s.requestBodyLimit = n;
      else s.requestBodyNoFilesLimit = n;
      return;
    }
    case 'secrequestbodylimitaction': {
      const v = (d.args[0] ?? '').toLowerCase();
      if (v !== 'reject' && v !== 'processpartial') return err('expects Reject or ProcessPartial');
      s.requestBodyLimitAction = v === 'reject' ? 'Reject' : 'ProcessPartial';
      return;
    }
    case 'secargumentseparator':
      if ((d.args[0] ?? '').length !== 1) return err('expects one character');
      s.argumentSeparator = d.args[0] as string;
      return;
    case 'seccomponentsignature':
      s.componentSignatures.push(d.args[0] ?? '');
      return;
    case 'seccollectiontimeout': {
      const n = Number(d.args[0]);
      if (!Number.isInteger(n) || n < 0) return err('expects seconds');
      s.collectionTimeout = n;
      return;
    }
    case 'secruleremovebyid': {
      const ranges = parseIdRanges(d.args.join(' '));
      if (typeof ranges === 'string') return err(ranges);
      state.exceptions.push({ kind: 'removeById', ranges });
      return;
    }
    case 'secruleremovebytag':
      state.exceptions.push({ kind: 'removeByTag', pattern: textPattern(d.args[0] ?? '') });
      return;
    case 'secruleremovebymsg':
      state.exceptions.push({ kind: 'removeByMsg', pattern: textPattern(d.args[0] ?? '') });
      return;
    case 'secruleupdatetargetbyid':
    case 'secruleupdatetargetbytag':
    case 'secruleupdatetargetbymsg': {
      if (d.args.length < 2) return err('expects WHAT TARGETS [REPLACED]');
      const targets = d.args[1] as string;
      const replaced = d.args[2];
      if (name === 'secruleupdatetargetbyid') {
        const ranges = parseIdRanges(d.args[0] as string);
        if (typeof ranges === 'string') return err(ranges);
        state.exceptions.push({ kind: 'updateTargetById', ranges, targets, replaced });
      } else {
        const pattern = textPattern(d.args[0] as string);
        state.exceptions.push({ kind: name === 'secruleupdatetargetbytag' ? 'updateTargetByTag' : 'updateTargetByMsg', pattern, targets, replaced });
      }
      return;
    }
    case 'secruleupdateactionbyid': {
      const id = Number((d.args[0] ?? '').split(':')[0]);
      const actions = parseActionList(d.args[1] ?? '');
      if (!Number.isInteger(id)) return err('expects a rule id');
      if (typeof actions === 'string') return err(actions);
      state.exceptions.push({ kind: 'updateActionById', id, actions });
      return;
    }
  }
  err('unknown directive');
}

function addRule(
  d: RawDirective,
  variables: string | undefined,
  operator: string | undefined,
  actionText: string,
  state: ConfigState,
  err: (m: string) => void,
): void {
  const actions = parseActionList(actionText);
  if (typeof actions === 'string') return err(actions);
  const chained = actions.some((a) => a.name === 'chain');
  const link = { variables, operator, actions, line: d.line };
  const open = state.openChain;
  if (open) {
    if (actions.some((a) => a.name === 'id' || a.name === 'phase')) {
      // ModSecurity refuses id/phase on chained rules; report, but keep reading.
      const bad = actions.filter((a) => a.name === 'id' || a.name === 'phase');
      link.actions = actions.filter((a) => !bad.includes(a));
      err(`a chained rule may not have ${bad.map((a) => a.name).join('/')}`);
    }
    open.links.push(link);
    if (!chained) state.openChain = undefined;
    return;
  }
  const idText = actions.find((a) => a.name === 'id')?.value;
  const id = Number(idText);
  if (idText === undefined || !Number.isInteger(id) || id <= 0) return err('rule has no valid id');
  if (state.ids.has(id)) return err(`duplicate rule id ${id}`);
  state.ids.add(id);
  const phaseAction = actions.find((a) => a.name === 'phase');
  const phase = phaseAction ? parsePhase(phaseAction.value) : 2;
  if (phase === undefined) return err(`invalid phase '${phaseAction?.value ?? ''}'`);
  const defaults = state.defaults.get(phase) ?? { actions: parseActionList('phase:2,log,auditlog,pass') as RawAction[] };
  const draft: RuleDraft = { id, phase, file: d.file, line: d.line, links: [link], defaults, extraTargets: [] };
  state.entries.push({ kind: 'rule', draft });
  if (chained) state.openChain = draft;
}
