import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Ajv2020, ErrorObject, Options, ValidateFunction } from 'ajv/dist/2020.js';
import type { SettingSchema } from './manifest.js';
import { formatDuration } from './duration.js';
import { formats } from './formats.js';
import { formatSize } from './size.js';
import { schemaHash as precompiledHash, validate as precompiled } from './validator.generated.js';

/** Palisade's annotation keywords: ajv must know them to run in strict mode. */
const ANNOTATIONS = ['x-duration', 'x-size', 'x-service-link', 'x-secret', 'x-default-doc', 'x-plugin', 'x-pattern-message', 'x-multiple', 'x-restart'];

/**
 * The ajv instance settings are validated with (`code` for the generator). ajv is loaded on
 * first use: a node whose schema is the build's own runs the precompiled validator and never
 * loads it (compiling the schema cost about a fifth of a second of every boot).
 */
export function settingsAjv(code?: Options['code']): Ajv2020 {
  const { Ajv2020: Ajv } = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  const ajv = new Ajv({ allErrors: true, strict: true, verbose: true, ...(code ? { code } : {}) });
  ajv.addVocabulary(ANNOTATIONS);
  for (const [name, format] of Object.entries(formats)) ajv.addFormat(name, format.validate);
  return ajv;
}

/** The hash a schema is known by (the precompiled validator records the one it was made from). */
export function settingsSchemaHash(schema: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(schema)).digest('hex');
}

/** A failed check on one setting, with the JSON path inside it (array item index). */
export interface SchemaViolation {
  name: string;
  /** Index of the offending list item, when the setting is a list. */
  item?: number;
  message: string;
}

/**
 * The validator of the composed settings schema; the returned function lists every
 * violation. The build's own schema has one precompiled (`npm run schema` writes it; a
 * test keeps it current); any other schema (a test's manifests) is compiled here.
 */
export function compileValidator(schema: Record<string, unknown>): (values: Record<string, unknown>) => SchemaViolation[] {
  const validate = (settingsSchemaHash(schema) === precompiledHash ? precompiled : settingsAjv().compile(schema)) as ValidateFunction;
  return (values) => {
    if (validate(values)) return [];
    return (validate.errors ?? []).map(toViolation).filter((v): v is SchemaViolation => v !== undefined);
  };
}

function toViolation(error: ErrorObject): SchemaViolation | undefined {
  const [name, item] = error.instancePath.split('/').slice(1);
  if (name === undefined) return undefined; // required/additional: the loader fills every key
  const violation: SchemaViolation = { name, message: describe(error) };
  if (item !== undefined) violation.item = Number(item);
  return violation;
}

/** A bound as the user writes the value: `100ms`, `1g`, or a plain number. */
function limitText(schema: Partial<SettingSchema> | undefined, limit: number): string {
  if (schema?.['x-duration']) return formatDuration(limit);
  if (schema?.['x-size']) return formatSize(limit);
  return String(limit);
}

function describe(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  const schema = error.parentSchema as Partial<SettingSchema> | undefined;
  switch (error.keyword) {
    case 'minimum':
      return `must be at least ${limitText(schema, Number(p.limit))}`;
    case 'maximum':
      return `must be at most ${limitText(schema, Number(p.limit))}`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'format':
      return formats[String(p.format)]?.message ?? `must be a ${String(p.format)}`;
    case 'minLength':
      return `must be at least ${String(p.limit)} characters`;
    case 'maxLength':
      return `must be at most ${String(p.limit)} characters`;
    case 'minItems':
      return `must list at least ${String(p.limit)} item(s)`;
    case 'pattern':
      return schema?.['x-pattern-message'] ?? `must match ${String(p.pattern)}`;
    case 'type':
      return `must be of type ${String(p.type)}`;
    default:
      return error.message ?? 'is invalid';
  }
}
