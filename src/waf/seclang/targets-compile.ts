/** Compiles parsed variable specs into runtime targets. */
import type { Target } from '../engine/rule.js';
import { compilePcre } from '../operators/rx.js';
import { requiredLiterals } from '../regex/prefilter.js';
import { parseVariables, type VariableSpec } from './variables-parser.js';
import { internVariable, isKnownVariable, isLiveVariable } from './variable-names.js';

/** Compiles one spec; an error message for an unknown variable or a bad selector regex. */
export function compileTarget(spec: VariableSpec): Target | string {
  if (!isKnownVariable(spec.collection)) return `unknown variable ${spec.collection}`;
  const text = (spec.exclude ? '!' : '') + (spec.count ? '&' : '') + spec.collection + selectorText(spec);
  const s = spec.selector;
  const base = { collection: internVariable(spec.collection), count: spec.count, text, slot: -1, live: isLiveVariable(spec.collection) };
  switch (s.kind) {
    case 'all':
      return { ...base, match: { kind: 'all' } };
    case 'key':
      return { ...base, match: { kind: 'key', lower: s.key.toLowerCase() } };
    case 'xpath':
      return { ...base, match: { kind: 'xpath', path: s.path } };
    case 'regex': {
      const compiled = compilePcre(s.source);
      if (typeof compiled === 'string') return compiled;
      // ModSecurity compiles selector regexes case-insensitively.
      const regex = new RegExp(compiled.regex.source, compiled.regex.flags.includes('i') ? compiled.regex.flags : compiled.regex.flags + 'i');
      const literal = /^\^([A-Za-z0-9_-]+)$/.exec(s.source);
      const needles = requiredLiterals(regex.source, regex.flags);
      return { ...base, match: { kind: 'regex', regex, prefix: literal ? (literal[1] as string).toLowerCase() : undefined, needles } };
    }
  }
}

function selectorText(spec: VariableSpec): string {
  const s = spec.selector;
  if (s.kind === 'all') return '';
  if (s.kind === 'key') return ':' + s.key;
  if (s.kind === 'xpath') return ':' + s.path;
  return ':/' + s.source + '/';
}

/** Parses and compiles a target list into includes and exclusions. */
export function compileTargets(text: string): { targets: Target[]; exclusions: Target[] } | string {
  const specs = parseVariables(text);
  if (typeof specs === 'string') return specs;
  const targets: Target[] = [];
  const exclusions: Target[] = [];
  for (const spec of specs) {
    const t = compileTarget(spec);
    if (typeof t === 'string') return t;
    (spec.exclude ? exclusions : targets).push(t);
  }
  return { targets, exclusions };
}
