/** Compiles `ctl:` actions. */
import type { Ctl } from '../engine/rule.js';
import { compileTargets } from './targets-compile.js';

/** Parses "1,5-9 12" style id lists into inclusive ranges. */
export function parseIdRanges(text: string): Array<[number, number]> | string {
  const ranges: Array<[number, number]> = [];
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return `invalid rule id or range '${part}'`;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    ranges.push([Math.min(lo, hi), Math.max(lo, hi)]);
  }
  return ranges;
}

/** Tags and messages in removal directives are matched as (case-sensitive) regexes, like ModSecurity 2. */
export function textPattern(text: string): RegExp {
  try {
    return new RegExp(text);
  } catch {
    return new RegExp(text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  }
}

const NOOP = new Set([
  'auditengine',
  'auditlogparts',
  'debugloglevel',
  'responsebodyaccess',
  'responsebodylimit',
  'hashengine',
  'hashenforcement',
  'parsexmlintoargs',
]);

/** Compiles the value of a `ctl:` action (e.g. "ruleRemoveTargetById=942100;ARGS:foo"). */
export function compileCtl(value: string): Ctl | string {
  const eq = value.indexOf('=');
  if (eq < 0) return `ctl:${value} has no '='`;
  const name = value.slice(0, eq).trim().toLowerCase();
  const arg = value.slice(eq + 1).trim();
  if (NOOP.has(name)) return { kind: 'noop' };
  switch (name) {
    case 'ruleremovebyid': {
      const ranges = parseIdRanges(arg);
      return typeof ranges === 'string' ? ranges : { kind: 'ruleRemoveById', ranges };
    }
    case 'ruleremovebytag':
      return { kind: 'ruleRemoveByTag', pattern: textPattern(arg) };
    case 'ruleremovebymsg':
      return { kind: 'ruleRemoveByMsg', pattern: textPattern(arg) };
    case 'ruleremovetargetbyid':
    case 'ruleremovetargetbytag':
    case 'ruleremovetargetbymsg': {
      const semi = arg.indexOf(';');
      if (semi < 0) return `ctl:${name} needs 'what;TARGET'`;
      const what = arg.slice(0, semi);
      const compiled = compileTargets(arg.slice(semi + 1));
      if (typeof compiled === 'string') return compiled;
      const targets = [...compiled.targets, ...compiled.exclusions];
      if (name === 'ruleremovetargetbyid') {
        const ranges = parseIdRanges(what);
        return typeof ranges === 'string' ? ranges : { kind: 'ruleRemoveTargetById', ranges, targets };
      }
      if (name === 'ruleremovetargetbytag') return { kind: 'ruleRemoveTargetByTag', pattern: textPattern(what), targets };
      return { kind: 'ruleRemoveTargetByMsg', pattern: textPattern(what), targets };
    }
    case 'ruleengine': {
      const mode = ({ on: 'On', off: 'Off', detectiononly: 'DetectionOnly' } as const)[arg.toLowerCase() as 'on'];
      return mode ? { kind: 'ruleEngine', mode } : `invalid ctl:ruleEngine value '${arg}'`;
    }
    case 'requestbodyprocessor': {
      const p = arg.toUpperCase();
      if (!['URLENCODED', 'MULTIPART', 'JSON', 'XML'].includes(p)) return `unsupported request body processor '${arg}'`;
      return { kind: 'requestBodyProcessor', processor: p };
    }
    case 'requestbodyaccess':
      return { kind: 'requestBodyAccess', on: /^on$/i.test(arg) };
    case 'forcerequestbodyvariable':
      return { kind: 'forceRequestBodyVariable', on: /^on$/i.test(arg) };
    case 'requestbodylimit': {
      const n = Number(arg);
      return Number.isInteger(n) && n >= 0 ? { kind: 'requestBodyLimit', limit: n } : `invalid ctl:requestBodyLimit '${arg}'`;
    }
  }
  return `unsupported ctl:${value.slice(0, eq)}`;
}
