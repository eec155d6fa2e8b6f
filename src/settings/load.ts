import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { coerce, servicePort } from './coerce.js';
import { SECRET_MASK, type SettingError } from './errors.js';
import type { SettingSchema, SettingsManifest } from './manifest.js';
import { composeSettings, jsonSchema, numberedBase } from './schema.js';
import { suggestSetting } from './typos.js';
import { compileValidator } from './validate.js';

/** Effective settings: every declared name present, typed, frozen. */
export type Settings = Readonly<Record<string, unknown>>;

/** Where an effective value came from (shown by `palisade config check`): `dotenv` is the `.env` file. */
export type SettingSource = 'default' | 'env' | 'dotenv' | 'file' | 'derived';

/** A setting read from its `<NAME>_FILE`: the path, and whether the file held anything. */
export interface SettingFile {
  path: string;
  empty: boolean;
}

/**
 * A cross-field rule run after every single value was checked (e.g. a token required by an
 * address). `valid(name)` is false for a setting that already failed on its own: rules
 * involving it are skipped, so one mistake is reported once.
 */
/** A cross-field rule; it may be async (a plugin that loads its rule engine only when it is on). */
export type SettingsCheck = (settings: Settings, valid: (name: string) => boolean) => SettingError[] | Promise<SettingError[]>;

/**
 * Fills settings from other settings before coercion (e.g. `REDIS_URL` filling `REDIS_HOST`):
 * gets the raw text of any declared setting (from the environment or its `_FILE`) and
 * returns values to use where the user set none. Errors name the source setting.
 */
export type SettingsDeriver = (raw: (name: string) => string | undefined) => { values: Record<string, string>; errors: SettingError[] };

/** Everything the loader needs to know about the settings of this build. */
export interface SettingsSpec {
  manifests: readonly SettingsManifest[];
  checks?: readonly SettingsCheck[];
  derivers?: readonly SettingsDeriver[];
}

export type LoadResult =
  | { ok: true; settings: Settings; sources: ReadonlyMap<string, SettingSource>; secrets: ReadonlySet<string>; files: ReadonlyMap<string, SettingFile> }
  | { ok: false; errors: SettingError[]; files?: ReadonlyMap<string, SettingFile> };

/**
 * Reads, coerces, validates and freezes the settings from `env` (already merged with .env;
 * `fromDotenv` names the variables that came from it). Never throws for bad input: every
 * problem is collected and returned together, so the operator fixes them in one round.
 */
export async function loadSettings(
  spec: SettingsSpec,
  env: Readonly<Record<string, string>>,
  fromDotenv: ReadonlySet<string> = new Set(),
): Promise<LoadResult> {
  const declared = composeSettings(spec.manifests);
  // Numbered variants present in the environment (LIMIT_REQ_URL_1 …) join the table with
  // their base's schema and no default.
  const schemasWithNumbered = new Map(declared.schemas);
  for (const name of Object.keys(env)) {
    const base = numberedBase(name, declared.schemas);
    if (base !== undefined && (env[name] ?? '').trim() !== '') schemasWithNumbered.set(name, declared.schemas.get(base)!);
  }
  const composed = { schemas: schemasWithNumbered, owner: declared.owner };
  const errors: SettingError[] = [];
  const secrets = new Set([...composed.schemas].filter(([, s]) => s['x-secret']).map(([name]) => name));
  const show = (name: string, value: string): string => (secrets.has(name) ? SECRET_MASK : value);

  const raw = new Map<string, string>();
  const sources = new Map<string, SettingSource>();
  const files = new Map<string, SettingFile>();
  // Kubernetes service links (`REDIS_PORT=tcp://…`, set for every Service of the namespace)
  // are not the user's choice: a value derived from what the user set (REDIS_URL) wins.
  const links = new Map<string, string>();
  for (const name of composed.schemas.keys()) {
    const direct = env[name];
    const filePath = env[`${name}_FILE`];
    if (direct !== undefined && direct !== '' && filePath !== undefined && filePath !== '') {
      errors.push({ name, message: `set both ${name} and ${name}_FILE; keep one` });
      continue;
    }
    if (filePath !== undefined && filePath !== '') {
      try {
        const text = readFileSync(filePath, 'utf8').replace(/\r?\n$/, '');
        raw.set(name, text);
        sources.set(name, 'file');
        files.set(name, { path: filePath, empty: text.trim() === '' });
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
        errors.push({ name: `${name}_FILE`, message: `cannot read the file (${reason})`, got: filePath, code: 'PAL_SETTINGS_FILE_UNREADABLE' });
      }
    } else if (direct !== undefined && direct.trim() !== '') {
      if (composed.schemas.get(name)?.['x-service-link'] && servicePort(direct) !== undefined) links.set(name, direct);
      else {
        raw.set(name, direct);
        sources.set(name, fromDotenv.has(name) ? 'dotenv' : 'env');
      }
    }
  }

  for (const derive of spec.derivers ?? []) {
    const derived = derive((name) => raw.get(name) ?? links.get(name));
    errors.push(...derived.errors);
    for (const [name, value] of Object.entries(derived.values)) {
      if (!raw.has(name) && composed.schemas.has(name)) {
        raw.set(name, value);
        sources.set(name, 'derived');
      }
    }
  }

  for (const [name, value] of links) {
    if (raw.has(name)) continue;
    raw.set(name, value);
    sources.set(name, fromDotenv.has(name) ? 'dotenv' : 'env');
  }

  const known = new Set<string>();
  for (const name of composed.schemas.keys()) known.add(name).add(`${name}_FILE`);
  for (const name of Object.keys(env)) {
    if (known.has(name) || numberedBase(name, declared.schemas) !== undefined) continue;
    const suggestion = suggestSetting(name, declared.schemas.keys());
    if (suggestion !== undefined) errors.push({ name, message: `unknown setting; did you mean ${suggestion}?` });
  }

  const values: Record<string, unknown> = {};
  const badShape = new Set<string>();
  for (const [name, schema] of composed.schemas) {
    const text = raw.get(name);
    if (text === undefined) {
      values[name] = structuredClone(schema.default);
      sources.set(name, 'default');
      continue;
    }
    const result = coerce(schema, text);
    if (result.ok) values[name] = result.value;
    else {
      errors.push({ name, message: result.message, got: show(name, text) });
      values[name] = structuredClone(schema.default);
      badShape.add(name);
    }
  }

  const validate = compileValidator(jsonSchema(declared));
  for (const violation of validate(values)) {
    // Defaults are ours and trusted ("" means unset even where a set value needs a length).
    if (badShape.has(violation.name) || sources.get(violation.name) === 'default') continue;
    const value = values[violation.name];
    const got = violation.item !== undefined ? String((value as unknown[])[violation.item]) : (raw.get(violation.name) ?? String(value));
    errors.push({ name: violation.name, message: violation.message, got: show(violation.name, got) });
  }

  applyComputedDefaults(values, composed.schemas);
  // Cross-field rules run even when single values failed (those hold their defaults), so
  // one run names every problem.
  const failed = new Set(errors.map((error) => error.name.replace(/_FILE$/, '')));
  const valid = (name: string): boolean => !failed.has(name);
  for (const check of spec.checks ?? []) errors.push(...(await check(values, valid)).filter((error) => valid(error.name)));
  if (errors.length > 0) {
    const order = [...composed.schemas.keys()];
    const rank = (name: string): number => {
      const index = order.indexOf(name.replace(/_FILE$/, ''));
      return index === -1 ? order.length : index;
    };
    return { ok: false, errors: errors.sort((a, b) => rank(a.name) - rank(b.name)), files };
  }
  for (const value of Object.values(values)) if (Array.isArray(value)) Object.freeze(value);
  return { ok: true, settings: Object.freeze(values), sources, secrets, files };
}

/** Defaults that depend on the machine; the schema documents them with `x-default-doc`. */
function applyComputedDefaults(values: Record<string, unknown>, schemas: ReadonlyMap<string, SettingSchema>): void {
  if (schemas.has('NODE_NAME') && values.NODE_NAME === '') {
    values.NODE_NAME =
      hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .replace(/^[^A-Za-z0-9]+/, '')
        .slice(0, 63) || 'palisade';
  }
}
