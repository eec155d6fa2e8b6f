import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { PalisadeError, coded } from './errors.js';
import { describeError } from './log.js';
import { formatSettingError } from './settings/errors.js';
import type { Settings } from './settings/load.js';
import type { SettingsManifest } from './settings/manifest.js';
import { lostFiles, type SettingsRead } from './settings/read.js';

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
 * Compares the running settings with the re-read ones (`filesChanged`: settings whose value
 * is the same but whose files changed). A change waits for a restart when
 * the setting says so (`x-restart`, or a plugin with `reload: restart` such as redis), and
 * — in a one-process node (`WORKERS=0`), which cannot replace its request side — for every
 * core setting the primary does not apply itself.
 */
export function planReload(
  current: Settings,
  next: Settings,
  manifests: readonly SettingsManifest[],
  workers: number,
  filesChanged: readonly string[] = [],
): ReloadPlan {
  const names = new Set([...Object.keys(current), ...Object.keys(next)]);
  const changed = [...new Set([...[...names].filter((name) => JSON.stringify(current[name]) !== JSON.stringify(next[name])), ...filesChanged])].sort();
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

/** What a reload did. */
export type ReloadOutcome =
  { applied: true; changed: string[]; restartNeeded: string[] } | { applied: false; errors: Array<{ name: string; message: string }> };

/** What {@link createReloader} needs of the node. */
export interface ReloaderDependencies {
  log: Logger;
  registry: Registry;
  /** The node's worker count (`WORKERS=0`: the request side cannot be replaced). */
  workers: number;
  manifests: readonly SettingsManifest[];
  /** The settings in force at start, with the names of their secrets. */
  initial: { settings: Settings; secrets: string[] };
  /** Re-reads the environment, `.env` and every `*_FILE`; none: this node cannot reload. */
  readSettings?: () => Promise<SettingsRead>;
  /** What the node was started from: a file it can no longer read refuses the reload. */
  startedWith?: SettingsRead;
  /** Fingerprints of the files plugins read, by setting (see `fileFingerprintsOf`): a changed file re-applies its setting. */
  fileFingerprints?: (settings: Settings) => Record<string, string>;
  /** Replaces the workers with ones running `settings` (rejects when one cannot start: the old ones keep serving). */
  replaceWorkers?: (settings: Settings, secrets: string[]) => Promise<void>;
  /** The primary applies its own part of `settings` (`changed` names what changed). Never rejects for a plugin's failure. */
  apply(settings: Settings, changed: ReadonlySet<string>): Promise<void>;
}

/**
 * The node's reload (`SIGHUP`, `palisade reload`, `POST /api/reload`): re-reads the settings,
 * refuses them when invalid or when a file the node started with is lost, plans what a
 * reload may change, replaces the workers, then lets the primary apply its part. Reloads run
 * one at a time; whatever fails refuses the reload, logged (`PAL_RELOAD_REJECTED`) and
 * counted (`palisade_reloads_total{result}`), and the returned promise never rejects.
 */
export function createReloader(deps: ReloaderDependencies): () => Promise<ReloadOutcome> {
  const { log } = deps;
  let current = deps.initial;
  let currentPrints = deps.fileFingerprints?.(current.settings) ?? {};
  const reloads = new Counter({
    name: 'palisade_reloads_total',
    help: 'Reloads (SIGHUP, palisade reload), by result: applied, unchanged, rejected.',
    labelNames: ['result'] as const,
    registers: [deps.registry],
  });
  const refuse = (errors: Array<{ name: string; message: string }>): ReloadOutcome => {
    reloads.labels('rejected').inc();
    return { applied: false, errors };
  };
  const run = async (): Promise<ReloadOutcome> => {
    const read = await deps.readSettings?.();
    if (!read) return refuse([{ name: '', message: 'this node cannot re-read its settings' }]);
    const loaded = read.result;
    const problems = [...(loaded.ok ? [] : loaded.errors), ...(deps.startedWith ? lostFiles(deps.startedWith, read) : [])];
    if (!loaded.ok || problems.length > 0) {
      for (const error of problems) {
        log.error(
          coded('PAL_RELOAD_REJECTED', { setting: error.name, error: formatSettingError(error) }),
          'reload rejected: invalid setting; the node keeps its previous settings',
        );
      }
      return refuse(problems.map((error) => ({ name: error.name, message: formatSettingError(error) })));
    }
    const prints = deps.fileFingerprints?.(loaded.settings) ?? {};
    const filesChanged = [...new Set([...Object.keys(prints), ...Object.keys(currentPrints)])].filter((name) => prints[name] !== currentPrints[name]);
    const plan = planReload(current.settings, loaded.settings, deps.manifests, deps.workers, filesChanged);
    if (plan.restartNeeded.length > 0) {
      log.warn(
        coded('PAL_RELOAD_NEEDS_RESTART', { settings: plan.restartNeeded }),
        `reload: ${plan.restartNeeded.join(', ')} changed and take effect at the next start`,
      );
    }
    const applying = plan.changed.filter((name) => !plan.restartNeeded.includes(name));
    if (applying.length === 0) {
      log.info({ restartNeeded: plan.restartNeeded }, 'reload: nothing to apply');
      reloads.labels('unchanged').inc();
      return { applied: true, changed: [], restartNeeded: plan.restartNeeded };
    }
    const next = plan.effective;
    const secrets = [...loaded.secrets];
    if (deps.replaceWorkers) {
      try {
        await deps.replaceWorkers(next, secrets);
      } catch (error) {
        log.error(
          coded('PAL_RELOAD_REJECTED', { err: describeError(error) }),
          'reload rejected: a worker could not start with the new settings; the node keeps its previous settings',
        );
        return refuse([{ name: listenerSetting(error), message: describeError(error) }]);
      }
    }
    await deps.apply(next, new Set(applying));
    current = { settings: next, secrets };
    currentPrints = prints;
    log.info({ changed: applying, restartNeeded: plan.restartNeeded, workers: deps.workers }, 'reloaded');
    reloads.labels('applied').inc();
    return { applied: true, changed: applying, restartNeeded: plan.restartNeeded };
  };
  const guarded = (): Promise<ReloadOutcome> =>
    run().catch((error: unknown) => {
      log.error(coded('PAL_RELOAD_REJECTED', { err: describeError(error) }), 'reload rejected; the node keeps its previous settings');
      return refuse([{ name: '', message: describeError(error) }]);
    });
  let reloading: Promise<ReloadOutcome> = Promise.resolve({ applied: true, changed: [], restartNeeded: [] });
  // One at a time; a reload asked for during another re-reads the files after it.
  return () => (reloading = reloading.then(guarded, guarded));
}

/** The setting a worker replacement failed on: the proxy address when it could not be bound (a reload moves it), else none. */
function listenerSetting(error: unknown): string {
  if (!(error instanceof PalisadeError) || error.code !== 'PAL_LISTEN_FAILED') return '';
  return (error.cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRNOTAVAIL' ? 'HTTP_ADDRESS' : 'HTTP_PORT';
}
