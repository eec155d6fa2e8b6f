/**
 * Load-time analysis of *constant rules*: rules whose outcome is the same in every
 * transaction. The CRS's initialization (901xxx: `&TX:x "@eq 0"` → `setvar`) and its
 * paranoia-level gates (`TX:EXECUTING_PARANOIA_LEVEL "@lt 2"` → `skipAfter`) read only
 * TX variables that only such rules write, from configuration constants.
 *
 * A rule is constant when
 * - everything it reads is a TX variable named by a constant key (targets `TX:k` or
 *   `&TX:k`, `%{tx.k}` in its operator or setvar values; MATCHED_VAR* only after its own
 *   link matched), and it writes nothing but TX (no ctl, setenv, other collections);
 * - no non-constant rule can write any of those variables (setvar with a constant key,
 *   a key macro whose constant prefix could produce it, `capture` writing TX.0–9).
 *
 * Then, as long as no request-dependent event changed which rules run (see
 * constant-memo.ts), the rule sees the same TX values in every transaction, so its
 * outcome and TX writes can be recorded once and replayed.
 */
import { parseMacro, type MacroRef } from '../macro.js';
import type { PhaseEntry, Rule } from './rule.js';

/** TX variables a rule reads or writes: exact keys (lower-case) and key prefixes (macro keys). */
interface Access {
  reads: Set<string>;
  writes: Set<string>;
  writePrefixes: string[];
  /** False when the rule reads or writes anything but constant-keyed TX variables. */
  txOnly: boolean;
}

const CAPTURE_KEYS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
/** References that read the rule's own match (allowed after its own link matched). */
const OWN_MATCH = new Set(['MATCHED_VAR', 'MATCHED_VAR_NAME', 'MATCHED_VARS', 'MATCHED_VARS_NAMES']);

function refs(text: string): MacroRef[] {
  return parseMacro(text).parts.filter((p): p is MacroRef => typeof p !== 'string');
}

/** Records a macro read; false when it reads something a constant rule may not. */
function readRef(ref: MacroRef, a: Access, ownMatchKnown: boolean): boolean {
  if (ref.collection === 'TX' && ref.key !== undefined) {
    a.reads.add(ref.key.toLowerCase());
    return true;
  }
  if (ref.collection === 'RULE') return ref.key?.toLowerCase() !== 'msg' && ref.key?.toLowerCase() !== 'logdata';
  return ownMatchKnown && OWN_MATCH.has(ref.collection);
}

function access(rule: Rule): Access {
  const a: Access = { reads: new Set(), writes: new Set(), writePrefixes: [], txOnly: true };
  rule.links.forEach((link, n) => {
    for (const t of link.targets) {
      if (t.collection === 'TX' && t.match.kind === 'key') a.reads.add(t.match.lower);
      else if (!(n > 0 && OWN_MATCH.has(t.collection))) a.txOnly = false;
    }
    for (const ref of refs(link.operatorText)) if (!readRef(ref, a, n > 0)) a.txOnly = false;
    if (link.capture) for (const k of CAPTURE_KEYS) a.writes.add(k);
    if (link.setenvs.length > 0 || link.ctls.length > 0) a.txOnly = false;
    for (const sv of link.setvars) {
      for (const ref of [...refs(sv.key.text), ...refs(sv.value.text)]) if (!readRef(ref, a, true)) a.txOnly = false;
      if (sv.collection !== 'TX') {
        a.txOnly = false;
        continue;
      }
      if (sv.key.constant) a.writes.add(sv.key.text.toLowerCase());
      else {
        a.writePrefixes.push((typeof sv.key.parts[0] === 'string' ? sv.key.parts[0] : '').toLowerCase());
        a.txOnly = false;
      }
    }
  });
  return a;
}

/** Marks constant rules (`rule.constant` = memo slot, else -1); returns how many there are. */
export function planConstants(phases: Map<number, PhaseEntry[]>): number {
  const rules: Rule[] = [];
  for (const list of phases.values()) for (const e of list) if (e.kind === 'rule') rules.push(e.rule);
  const accesses = new Map(rules.map((r) => [r, access(r)]));
  const variable = new Set<string>();
  const prefixes: string[] = [];
  const isVariable = (k: string): boolean => variable.has(k) || prefixes.some((p) => k.startsWith(p));
  const constant = new Set<Rule>();
  const makeVariable = (a: Access): void => {
    for (const k of a.writes) variable.add(k);
    prefixes.push(...a.writePrefixes);
  };
  for (const r of rules) {
    const a = accesses.get(r) as Access;
    if (a.txOnly) constant.add(r);
    else makeVariable(a);
  }
  // A constant rule that reads a variable key is not constant, and what it writes becomes variable.
  for (let changed = true; changed;) {
    changed = false;
    for (const r of constant) {
      const a = accesses.get(r) as Access;
      if (![...a.reads].some(isVariable)) continue;
      constant.delete(r);
      makeVariable(a);
      changed = true;
    }
  }
  let count = 0;
  for (const r of rules) r.constant = constant.has(r) ? count++ : -1;
  return count;
}
