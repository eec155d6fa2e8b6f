import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { SettingSchema } from './manifest.js';
import { formatDuration } from './duration.js';
import { formats } from './formats.js';
import { formatSize } from './size.js';

/** Palisade's annotation keywords: ajv must know them to run in strict mode. */
const ANNOTATIONS = ['x-duration', 'x-size', 'x-service-link', 'x-secret', 'x-default-doc', 'x-plugin', 'x-pattern-message', 'x-multiple', 'x-restart'];

/** A failed check on one setting, with the JSON path inside it (array item index). */
export interface SchemaViolation {
  name: string;
  /** Index of the offending list item, when the setting is a list. */
  item?: number;
  message: string;
}

/** Compiles the composed settings schema once; the returned function lists every violation. */
export function compileValidator(schema: Record<string, unknown>): (values: Record<string, unknown>) => SchemaViolation[] {
  const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });
  ajv.addVocabulary(ANNOTATIONS);
  for (const [name, format] of Object.entries(formats)) ajv.addFormat(name, format.validate);
  const validate: ValidateFunction = ajv.compile(schema);
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
