import { dotenvErrors, readEnvironment, type DotenvState } from './environment.js';
import type { SettingError } from './errors.js';
import { loadSettings, type LoadResult, type SettingsSpec } from './load.js';

/** The settings as read once: the result, and the `.env` it was read from. */
export interface SettingsRead {
  result: LoadResult;
  dotenv: DotenvState;
}

/**
 * Reads the settings from `env` and `cwd`'s `.env`: an unreadable `.env` is one more error
 * (named `.env`), never a throw, so a boot refuses it with exit 78 and a reload keeps the
 * settings in force.
 */
export async function readSettings(spec: SettingsSpec, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<SettingsRead> {
  const environment = readEnvironment(env, cwd);
  const loaded = await loadSettings(spec, environment.vars, environment.fromDotenv);
  const unreadable = dotenvErrors(environment.dotenv);
  if (unreadable.length === 0) return { result: loaded, dotenv: environment.dotenv };
  return { result: { ok: false, errors: [...unreadable, ...(loaded.ok ? [] : loaded.errors)], files: loaded.files }, dotenv: environment.dotenv };
}

/**
 * What a reload can no longer read of what the node started with: a `.env` that set
 * variables and is now gone or empty, a `<NAME>_FILE` that held a value and is now empty or
 * no longer named. Read as they are, such files would put defaults in place of the node's
 * settings (an open admin API, another listen address): a reload that finds one is refused.
 * (An unreadable file is an error of the read itself.)
 */
export function lostFiles(started: SettingsRead, now: SettingsRead): SettingError[] {
  const errors: SettingError[] = [];
  const before = started.dotenv;
  if (before.state === 'read' && before.variables > 0) {
    if (now.dotenv.state === 'absent')
      errors.push({
        name: '.env',
        message: `the .env the node started with (${before.variables} variables) is gone`,
        got: before.path,
        code: 'PAL_SETTINGS_FILE_UNREADABLE',
      });
    else if (now.dotenv.state === 'read' && now.dotenv.variables === 0)
      errors.push({
        name: '.env',
        message: `the .env the node started with (${before.variables} variables) is empty now (a rewrite in progress?)`,
        got: before.path,
        code: 'PAL_SETTINGS_FILE_UNREADABLE',
      });
  }
  const nowFiles = now.result.files;
  if (started.result.ok && nowFiles !== undefined) {
    for (const [name, file] of started.result.files) {
      if (file.empty) continue;
      const current = nowFiles.get(name);
      if (current === undefined)
        errors.push({
          name: `${name}_FILE`,
          message: 'no longer set (it named a file the node started with)',
          got: file.path,
          code: 'PAL_SETTINGS_FILE_UNREADABLE',
        });
      else if (current.empty)
        errors.push({
          name: `${name}_FILE`,
          message: 'the file is empty now (a rewrite in progress?)',
          got: current.path,
          code: 'PAL_SETTINGS_FILE_UNREADABLE',
        });
    }
  }
  return errors;
}
