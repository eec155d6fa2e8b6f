import { parseDuration } from './duration.js';
import type { SettingSchema } from './manifest.js';
import { parseSize } from './size.js';

export type Coerced = { ok: true; value: unknown } | { ok: false; message: string };

const TRUE = new Set(['yes', 'true', '1', 'on']);
const FALSE = new Set(['no', 'false', '0', 'off']);

/** The port of a Kubernetes service link (`tcp://10.0.0.5:6379`); undefined for anything else. */
export function servicePort(text: string): number | undefined {
  const match = /^tcp:\/\/(?:\[[0-9A-Fa-f:.]+\]|[^:/]+):(\d{1,5})$/.exec(text.trim());
  return match ? Number(match[1]) : undefined;
}

/**
 * Turns one environment string into the typed value its schema describes. Only the shape is
 * checked here (is it a number, a boolean, a duration); ranges and formats are left to ajv
 * so every message comes from one place.
 */
export function coerce(schema: SettingSchema, raw: string): Coerced {
  const text = raw.trim();
  switch (schema.type) {
    case 'boolean': {
      const lower = text.toLowerCase();
      if (TRUE.has(lower)) return { ok: true, value: true };
      if (FALSE.has(lower)) return { ok: true, value: false };
      return { ok: false, message: 'must be yes or no' };
    }
    case 'integer': {
      if (schema['x-duration']) {
        const ms = parseDuration(text);
        return ms === undefined ? { ok: false, message: 'must be a duration like 500ms, 60s, 10m, 24h, 7d or bare seconds' } : { ok: true, value: ms };
      }
      const link = schema['x-service-link'] ? servicePort(text) : undefined;
      if (link !== undefined) return { ok: true, value: link };
      if (schema['x-size']) {
        const bytes = parseSize(text);
        return bytes === undefined ? { ok: false, message: 'must be a size like 512, 64k, 10m or 1g' } : { ok: true, value: bytes };
      }
      return /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? { ok: true, value: Number(text) } : { ok: false, message: 'must be a whole number' };
    }
    case 'number': {
      const value = Number(text);
      return text !== '' && Number.isFinite(value) ? { ok: true, value } : { ok: false, message: 'must be a number' };
    }
    case 'array':
      return { ok: true, value: text.split(/[\s,]+/).filter((item) => item !== '') };
    case 'string':
      return { ok: true, value: text };
  }
}
