/** Runs the non-disruptive actions of a matched rule link: setvar, setenv, ctl. */
import { expandMacro, type MacroResolver } from '../macro.js';
import { toInteger } from '../operators/numeric.js';
import { inRanges } from '../seclang/exceptions.js';
import { KeyedStore, type TxData } from './data.js';
import type { Ctl, RuleLink } from './rule.js';
import { byTag, type RuntimeExceptions } from './runtime-exceptions.js';

/** Transaction switches that ctl actions change. */
export interface CtlTarget {
  exceptions: RuntimeExceptions;
  setEngineMode(mode: 'On' | 'Off' | 'DetectionOnly'): void;
  setBodyProcessor(processor: string): void;
  setBodyAccess(on: boolean): void;
  setForceBodyVariable(on: boolean): void;
  setBodyLimit(limit: number): void;
}

function storeFor(collection: string, d: TxData): KeyedStore {
  if (collection === 'TX') return d.tx;
  let s = d.persistent.get(collection);
  if (!s) {
    s = new KeyedStore(collection);
    d.persistent.set(collection, s);
  }
  return s;
}

/** Executes the link's setvar/setenv/ctl actions. */
export function runLinkActions(link: RuleLink, d: TxData, resolve: MacroResolver, ctl: CtlTarget): void {
  for (const sv of link.setvars) {
    const s = storeFor(sv.collection, d);
    const key = sv.key.constant ? sv.key.text : expandMacro(sv.key, resolve);
    if (sv.op === 'delete') {
      s.delete(key);
      continue;
    }
    const lower = sv.lower ?? key.toLowerCase();
    const value = expandMacro(sv.value, resolve);
    if (sv.op === 'set') s.put(lower, key, value);
    else {
      const current = toInteger(s.getLower(lower) ?? '0');
      const delta = toInteger(value);
      s.put(lower, key, String(sv.op === 'add' ? current + delta : current - delta));
    }
  }
  for (const se of link.setenvs) d.env.set(expandMacro(se.name, resolve), expandMacro(se.value, resolve));
  for (const c of link.ctls) applyCtl(c, ctl);
}

function applyCtl(c: Ctl, t: CtlTarget): void {
  switch (c.kind) {
    case 'ruleRemoveById':
      t.exceptions.removeIds(c.ranges);
      return;
    case 'ruleRemoveByTag':
      t.exceptions.removeTag(c.pattern);
      return;
    case 'ruleRemoveByMsg':
      t.exceptions.removeMsg(c.pattern);
      return;
    case 'ruleRemoveTargetById':
      t.exceptions.removeTargets((r) => inRanges(r.id, c.ranges), c.targets);
      return;
    case 'ruleRemoveTargetByTag':
      t.exceptions.removeTargets(byTag(c.pattern), c.targets);
      return;
    case 'ruleRemoveTargetByMsg':
      t.exceptions.removeTargets((r) => c.pattern.test(r.msg?.text ?? ''), c.targets);
      return;
    case 'ruleEngine':
      t.setEngineMode(c.mode);
      return;
    case 'requestBodyProcessor':
      t.setBodyProcessor(c.processor);
      return;
    case 'requestBodyAccess':
      t.setBodyAccess(c.on);
      return;
    case 'forceRequestBodyVariable':
      t.setForceBodyVariable(c.on);
      return;
    case 'requestBodyLimit':
      t.setBodyLimit(c.limit);
      return;
    case 'noop':
      return;
  }
}
