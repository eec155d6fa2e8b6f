/** Reads configuration files (with `Include` and globs) into a ConfigState. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { RuleSource } from '../types.js';
import { applyDirective, type ConfigState } from './directives.js';
import { expandGlob, hasGlob } from './glob.js';
import { lexConfig } from './lexer.js';
import { defaultSettings } from './settings.js';

/** A fresh, empty configuration state. */
export function newConfigState(): ConfigState {
  return {
    settings: defaultSettings(),
    entries: [],
    defaults: new Map(),
    exceptions: [],
    ignored: [],
    errors: [],
    openChain: undefined,
    ids: new Set(),
  };
}

/** Reads one source (file or given text) into `state`, following Includes. */
export function readSource(source: RuleSource, state: ConfigState, depth = 0): void {
  let text = source.text;
  if (text === undefined) {
    try {
      text = readFileSync(source.file, 'latin1');
    } catch (e) {
      state.errors.push({ file: source.file, line: 0, message: `cannot read: ${(e as Error).message}` });
      return;
    }
  }
  const { directives, errors } = lexConfig(text, source.file);
  state.errors.push(...errors);
  for (const d of directives) {
    if (d.name.toLowerCase() === 'include' || d.name.toLowerCase() === 'includeoptional') {
      if (depth > 20) {
        state.errors.push({ file: d.file, line: d.line, message: 'Include nested too deeply' });
        continue;
      }
      const pattern = d.args[0] ?? '';
      const files = expandGlob(pattern, dirname(resolve(source.file)));
      if (files.length === 0 && hasGlob(pattern)) continue; // an empty glob is not an error
      for (const file of files) readSource({ file }, state, depth + 1);
      continue;
    }
    applyDirective(d, state);
  }
  if (state.openChain && depth === 0) {
    state.errors.push({ file: source.file, line: state.openChain.line, message: `rule ${state.openChain.id} ends with 'chain' but no rule follows` });
    state.openChain = undefined;
  }
}
