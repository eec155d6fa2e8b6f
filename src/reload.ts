import type { Settings } from './settings/load.js';
import type { SettingsManifest } from './settings/manifest.js';

/** Core settings the primary applies to itself on a reload, whatever `WORKERS` is. */
export const APPLIED_BY_PRIMARY: ReadonlySet<string> = new Set([
  'ADMIN_TOKEN',
  'ADMIN_TOKENS',
  'ADMIN_AUTH_PROXY_FROM',
  'ADMIN_AUTH_PROXY_ROLES',
  'ADMIN_AUTH_PROXY_USER_HEADER',
  'ADMIN_AUTH_PROXY_GROUPS_HEADER',
  'LOG_LEVEL',
  'BAN_MIN_PREFIX_IPV4',
  'BAN_MIN_PREFIX_IPV6',
  'USE_REAL_IP',
  'REAL_IP_FROM',
  'REAL_IP_HEADER',
  'REAL_IP_RECURSIVE',
]);

/** What a reload will do with the settings it re-read. */
export interface ReloadPlan {
  /** Every setting whose value differs, sorted. */
  changed: string[];
  /** Changed settings a reload cannot apply: they keep their running value until a restart. */
  restartNeeded: string[];
  /** The settings to run with: the new values, except those of {@link restartNeeded}. */
  effective: Settings;
}

/**
 * Compares the running settings with the re-read ones. A change waits for a restart when
 * the setting says so (`x-restart`, or a plugin with `reload: restart` such as redis), and
 * — in a one-process node (`WORKERS=0`), which cannot replace its request side — for every
 * core setting the primary does not apply itself.
 */
export function planReload(current: Settings, next: Settings, manifests: readonly SettingsManifest[], workers: number): ReloadPlan {
  const names = new Set([...Object.keys(current), ...Object.keys(next)]);
  const changed = [...names].filter((name) => JSON.stringify(current[name]) !== JSON.stringify(next[name])).sort();
  const atStart = new Set<string>();
  for (const manifest of manifests) {
    const wholePlugin = (manifest as { reload?: string }).reload === 'restart';
    for (const [name, schema] of Object.entries(manifest.settings)) {
      const core = manifest.id === 'core';
      if (wholePlugin || schema['x-restart'] || (core && workers === 0 && !APPLIED_BY_PRIMARY.has(name))) atStart.add(name);
    }
  }
  const restartNeeded = changed.filter((name) => atStart.has(name.replace(/_\d{1,2}$/, '')) || atStart.has(name));
  const effective: Record<string, unknown> = { ...next };
  for (const name of restartNeeded) {
    if (name in current) effective[name] = current[name];
    else delete effective[name];
  }
  return { changed, restartNeeded, effective: Object.freeze(effective) };
}
