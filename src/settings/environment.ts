import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'dotenv';
import type { SettingError } from './errors.js';

/** What `.env` held when it was read. */
export type DotenvState =
  /** No `.env` in the working directory. */
  | { state: 'absent'; path: string }
  /** Read: how many variables it set (0 for an empty file). */
  | { state: 'read'; path: string; variables: number }
  /** Present but unreadable (permissions, a directory …). */
  | { state: 'unreadable'; path: string; reason: string };

/** The variables Palisade reads, and where they came from. */
export interface Environment {
  /** `.env` under the real environment, which wins. */
  readonly vars: Record<string, string>;
  /** Names whose value came from `.env` (the real environment did not set them). */
  readonly fromDotenv: ReadonlySet<string>;
  readonly dotenv: DotenvState;
}

/**
 * The variables Palisade reads: `.env` in `cwd` (when present) under the real environment,
 * which wins. dotenv's parser is used directly, so nothing is printed and `process.env` is
 * left untouched. Never throws: an unreadable `.env` is said in `dotenv` (see
 * {@link dotenvErrors}), so the caller can refuse it like any other bad setting.
 */
export function readEnvironment(env: NodeJS.ProcessEnv, cwd: string): Environment {
  const vars: Record<string, string> = {};
  const path = join(cwd, '.env');
  let dotenv: DotenvState;
  try {
    const parsed = parse(readFileSync(path));
    Object.assign(vars, parsed);
    dotenv = { state: 'read', path, variables: Object.keys(parsed).length };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    dotenv = code === 'ENOENT' ? { state: 'absent', path } : { state: 'unreadable', path, reason: code };
  }
  const fromDotenv = new Set(Object.keys(vars));
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    vars[name] = value;
    fromDotenv.delete(name);
  }
  return { vars, fromDotenv, dotenv };
}

/** The settings error of an unreadable `.env`, named `.env` (none when it was read or is absent). */
export function dotenvErrors(dotenv: DotenvState): SettingError[] {
  return dotenv.state === 'unreadable'
    ? [{ name: '.env', message: `cannot read the file (${dotenv.reason})`, got: dotenv.path, code: 'PAL_SETTINGS_FILE_UNREADABLE' }]
    : [];
}
