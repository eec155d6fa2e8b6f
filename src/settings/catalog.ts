import { builtinPlugins } from '../../plugins/index.js';
import { readPackageJson } from '../paths.js';
import type { PluginDefinition } from '../plugin/types.js';
import { coreChecks } from './core-checks.js';
import type { SettingsManifest } from './manifest.js';
import type { Settings, SettingsSpec } from './load.js';

/** core.json, read once. */
export const coreManifest: SettingsManifest = readPackageJson<SettingsManifest>('src/settings/core.json');

/**
 * The full settings specification of this build: core first, then every built-in plugin's
 * manifest, cross-field checks and derivers (enabled or not: a bad value is reported even
 * for a plugin that is off).
 */
export function settingsSpec(plugins: readonly PluginDefinition<any>[] = builtinPlugins): SettingsSpec {
  return {
    manifests: [coreManifest, ...plugins.map((p) => p.manifest)],
    checks: [coreChecks, ...plugins.flatMap((p) => (p.checkSettings ? [(s: Settings, valid: (name: string) => boolean) => p.checkSettings!(s as never, valid)] : []))],
    derivers: plugins.flatMap((p) => (p.deriveSettings ? [p.deriveSettings] : [])),
  };
}
