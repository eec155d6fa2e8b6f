import { readPackageJson } from '../paths.js';
import type { PluginManifest } from '../settings/manifest.js';
import type { Settings } from '../settings/load.js';
import type { PluginDefinition } from './types.js';

/**
 * Declares a plugin. Only adds type inference: the definition is returned unchanged, so
 * a plugin folder stays readable top to bottom.
 */
export function definePlugin<S = Settings>(definition: PluginDefinition<S>): PluginDefinition<S> {
  return definition;
}

/** Reads `plugins/<id>/plugin.json` from the package (works from src/ and dist/ alike). */
export function loadManifest(id: string): PluginManifest {
  return readPackageJson<PluginManifest>(`plugins/${id}/plugin.json`);
}
