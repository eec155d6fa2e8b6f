import { builtinPlugins } from '../plugins/index.js';
import { settingsSpec } from './plugin/catalog.js';
import { formatSettingError } from './settings/errors.js';
import { readSettings, type SettingsRead } from './settings/read.js';

/**
 * The node's settings from the process environment (and `.env`), with the built-in plugins'
 * settings; every error is printed on stderr, each naming its variable.
 */
export async function loadFromProcess(): Promise<SettingsRead> {
  const read = await readSettings(settingsSpec(builtinPlugins));
  if (!read.result.ok) {
    process.stderr.write(`palisade: ${read.result.errors.length} invalid setting(s) [PAL_SETTINGS_INVALID]\n`);
    for (const error of read.result.errors) process.stderr.write(`${formatSettingError(error)}\n`);
  }
  return read;
}
