import { readPackageJson } from '../paths.js';
import { coreChecks } from '../settings/core-checks.js';
import type { Settings, SettingsSpec } from '../settings/load.js';
import type { SettingsManifest } from '../settings/manifest.js';
import type { PluginDefinition } from './types.js';

/** core.json, read once. */
const coreManifest: SettingsManifest = readPackageJson<SettingsManifest>('src/settings/core.json');

/**
 * The full settings specification of this build: core first, then every built-in plugin's
 * manifest, cross-field checks and derivers (enabled or not: a bad value is reported even
 * for a plugin that is off).
 */
export function settingsSpec(plugins: readonly PluginDefinition<any>[]): SettingsSpec {
  return {
    manifests: [coreManifest, ...plugins.map((p) => p.manifest)],
    checks: [
      coreChecks,
      ...plugins.flatMap((p) => (p.checkSettings ? [(s: Settings, valid: (name: string) => boolean) => p.checkSettings!(s as never, valid)] : [])),
    ],
    derivers: plugins.flatMap((p) => (p.deriveSettings ? [p.deriveSettings] : [])),
  };
}

/**
 * The fingerprints of the files the enabled plugins read, by the setting naming them (see
 * `PluginDefinition.fileFingerprints`): what a reload compares besides the values.
 */
export function fileFingerprintsOf(plugins: readonly PluginDefinition<any>[], settings: Settings): Record<string, string> {
  const prints: Record<string, string> = {};
  for (const plugin of plugins) {
    const flag = plugin.manifest.enabledBy;
    if (!plugin.fileFingerprints || (flag !== undefined && settings[flag] !== true)) continue;
    Object.assign(prints, plugin.fileFingerprints(settings as never));
  }
  return prints;
}
