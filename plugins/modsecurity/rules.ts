import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expandGlob } from '../../src/waf/seclang/glob.js';
import type { ModsecuritySettings } from '../../src/settings/types.generated.js';
import type { EngineMode, LoadError, LoadReport, RuleSet } from '../../src/waf/index.js';

/** The settings the rule set is built from (the WAF's own, and the core's mode). */
export type RuleSettings = Readonly<ModsecuritySettings> & { readonly SECURITY_MODE: string; readonly REVERSE_PROXY_HOST: string };

/** A rule set built, or why not. */
export type Built =
  { ok: true; ruleSet: RuleSet; report: LoadReport; crs: string | undefined } | { ok: false; errors: Array<{ setting: string; message: string }> };

/** Compiled rule sets of this process, by what they were built from: `config check` and the boot compile once. */
const built = new Map<string, Promise<Built>>();

/**
 * The engine mode the settings ask for. With `SECURITY_MODE=detect` the engine decides as in
 * `On` and the pipeline refuses nothing (it notes what would have refused); `DetectionOnly`
 * is the engine's own: it decides nothing, the access line names the rules that matched.
 */
export function engineModeOf(settings: RuleSettings): EngineMode {
  return settings.MODSECURITY_SEC_RULE_ENGINE as EngineMode;
}

/** The CRS's rule files, in the order the CRS loads them (their names sort it); undefined when the directory holds none. */
function crsRules(dir: string): string[] | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir)
    .filter((name) => /^(REQUEST|RESPONSE)-\d+.*\.conf$/.test(name))
    .sort();
  return files.length === 0 ? undefined : files.map((name) => join(dir, name));
}

/**
 * The rule set the settings describe, compiled once per process: the base config (body
 * processors by Content-Type, a body that cannot be parsed refused), the CRS's setup and
 * rules unmodified with the paranoia level and threshold set before them, and the user's
 * files before and after the CRS. Every problem is named with the setting to fix and, for
 * a rule file, its `file:line`. The engine is loaded on the first call: a node with the WAF
 * off never loads it.
 */
export function buildRuleSet(settings: RuleSettings): Promise<Built> {
  // The files' fingerprints too: a file edited in place is a new rule set (a reload re-reads it).
  const key = JSON.stringify(
    [settings, ruleFileFingerprints(settings)],
    [
      0,
      1,
      ...Object.keys(settings)
        .filter((k) => k.startsWith('MODSECURITY_') || k === 'USE_MODSECURITY_CRS' || k === 'SECURITY_MODE')
        .sort(),
    ],
  );
  const known = built.get(key);
  if (known) return known;
  const result = build(settings);
  built.set(key, result);
  return result;
}

async function build(settings: RuleSettings): Promise<Built> {
  const crs = settings.USE_MODSECURITY_CRS ? crsRules(settings.MODSECURITY_CRS_DIR) : undefined;
  if (settings.USE_MODSECURITY_CRS && crs === undefined && settings.REVERSE_PROXY_HOST !== '') {
    return {
      ok: false,
      errors: [
        {
          setting: 'MODSECURITY_CRS_DIR',
          message: `no Core Rule Set in ${settings.MODSECURITY_CRS_DIR}: install it (apt-get install modsecurity-crs), point MODSECURITY_CRS_DIR at a CRS release's rules/, or turn the WAF off (USE_MODSECURITY=no); a node in front of an upstream never runs without its rules unsaid`,
        },
      ],
    };
  }
  const { BASE_CONFIG, loadRules } = await import('../../src/waf/index.js');
  const setup = crs !== undefined && settings.MODSECURITY_CRS_SETUP !== '' ? [settings.MODSECURITY_CRS_SETUP] : [];
  const level = settings.MODSECURITY_PARANOIA_LEVEL;
  // Before the CRS's initialization (901), which keeps values already set: CRS 3 reads
  // paranoia_level, CRS 4 blocking_paranoia_level.
  const preamble = [
    BASE_CONFIG,
    `SecAction "id:9000001,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=${level},setvar:tx.blocking_paranoia_level=${level},setvar:tx.executing_paranoia_level=${level},setvar:tx.detection_paranoia_level=${level}"`,
    `SecAction "id:9000002,phase:1,nolog,pass,t:none,setvar:tx.inbound_anomaly_score_threshold=${settings.MODSECURITY_ANOMALY_THRESHOLD}"`,
  ].join('\n');
  const loaded = loadRules({
    preamble,
    files: [...setup, ...settings.MODSECURITY_RULES_BEFORE_CRS, ...(crs ?? []), ...settings.MODSECURITY_RULES_AFTER_CRS],
    // The part of a longer body the pipeline read is inspected as all there is.
    ...(settings.MODSECURITY_REQUEST_BODY_LIMIT_ACTION === 'partial' ? { postamble: 'SecRequestBodyLimitAction ProcessPartial' } : {}),
    engineMode: engineModeOf(settings),
    requestBodyNoFilesLimit: settings.MODSECURITY_REQUEST_BODY_LIMIT,
    inspectionBudgetMs: settings.MODSECURITY_INSPECTION_BUDGET,
  });
  if (!loaded.ok)
    return { ok: false, errors: loaded.errors.map((error) => ({ setting: settingOf(error, settings), message: `${where(error)}: ${error.message}` })) };
  return { ok: true, ruleSet: loaded.ruleSet, report: loaded.report, crs: crs === undefined ? undefined : settings.MODSECURITY_CRS_DIR };
}

/** `file:line` of a load error. */
export function where(error: LoadError): string {
  return error.line > 0 ? `${error.file}:${error.line}` : error.file;
}

/** The setting whose file a load error is in. */
function settingOf(error: LoadError, settings: RuleSettings): string {
  if (settings.MODSECURITY_RULES_BEFORE_CRS.some((pattern: string) => error.file === pattern || error.file.startsWith(pattern.replace(/\*.*$/, ''))))
    return 'MODSECURITY_RULES_BEFORE_CRS';
  if (settings.MODSECURITY_RULES_AFTER_CRS.some((pattern: string) => error.file === pattern || error.file.startsWith(pattern.replace(/\*.*$/, ''))))
    return 'MODSECURITY_RULES_AFTER_CRS';
  if (error.file === settings.MODSECURITY_CRS_SETUP) return 'MODSECURITY_CRS_SETUP';
  return 'MODSECURITY_CRS_DIR';
}

/**
 * Fingerprints of the rule files each setting names (their paths, sizes and modification
 * times, globs expanded; the CRS directory's rule and data files): what changes when a file
 * is edited in place, so a reload builds the rule set again.
 */
export function ruleFileFingerprints(settings: Readonly<ModsecuritySettings>): Record<string, string> {
  const crsDir = settings.MODSECURITY_CRS_DIR;
  const crsFiles = existsSync(crsDir)
    ? readdirSync(crsDir)
        .filter((name) => /\.(conf|data)$/.test(name))
        .sort()
        .map((name) => join(crsDir, name))
    : [];
  const files = (patterns: readonly string[]): string[] => patterns.flatMap((pattern) => expandGlob(pattern, process.cwd()));
  return {
    MODSECURITY_RULES_BEFORE_CRS: fingerprint(files(settings.MODSECURITY_RULES_BEFORE_CRS)),
    MODSECURITY_RULES_AFTER_CRS: fingerprint(files(settings.MODSECURITY_RULES_AFTER_CRS)),
    MODSECURITY_CRS_SETUP: fingerprint(settings.MODSECURITY_CRS_SETUP === '' ? [] : [settings.MODSECURITY_CRS_SETUP]),
    MODSECURITY_CRS_DIR: fingerprint(crsFiles),
  };
}

function fingerprint(files: readonly string[]): string {
  const hash = createHash('sha256');
  for (const file of files) {
    let stat = 'missing';
    try {
      const { size, mtimeMs, ino } = statSync(file);
      stat = `${size} ${mtimeMs} ${ino}`;
    } catch {
      // A missing file is a state of its own: the load names it.
    }
    hash.update(`${file}\0${stat}\n`);
  }
  return hash.digest('base64url').slice(0, 16);
}
