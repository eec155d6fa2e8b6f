import { formatDuration } from '../settings/duration.js';
import { formatSize } from '../settings/size.js';
import { SECRET_MASK } from '../settings/errors.js';
import { composeSettings } from '../settings/schema.js';
import { builtinPlugins } from '../../plugins/index.js';
import { settingsSpec } from '../plugin/catalog.js';
import { renderSettingsTable } from '../settings/generated.js';
import type { LoadResult } from '../settings/load.js';

/** Effective settings as `config check` prints them: secrets masked, durations readable. */
export function describeEffective(result: Extract<LoadResult, { ok: true }>): Array<{ name: string; value: unknown; source: string }> {
  const { schemas } = composeSettings(settingsSpec(builtinPlugins).manifests);
  return [...schemas].map(([name, schema]) => {
    let value = result.settings[name];
    if (result.secrets.has(name)) value = value === '' || (Array.isArray(value) && value.length === 0) ? value : SECRET_MASK;
    else if (schema['x-duration'] && typeof value === 'number') value = formatDuration(value);
    else if (schema['x-size'] && typeof value === 'number') value = formatSize(value);
    return { name, value, source: result.sources.get(name) ?? 'default' };
  });
}

/** How a source is shown: `.env` for the file, the others by name. */
const SOURCE_LABELS: Readonly<Record<string, string>> = { dotenv: '.env' };

/** Plain-text rendering of {@link describeEffective}: `NAME  value  (source)`; defaults carry no source. */
export function formatEffective(rows: Array<{ name: string; value: unknown; source: string }>): string {
  const width = Math.max(...rows.map((r) => r.name.length));
  return rows
    .map((r) => {
      const value = Array.isArray(r.value) ? r.value.join(' ') : typeof r.value === 'boolean' ? (r.value ? 'yes' : 'no') : String(r.value);
      return `${r.name.padEnd(width)}  ${value}${r.source === 'default' ? '' : `  (${SOURCE_LABELS[r.source] ?? r.source})`}`;
    })
    .join('\n');
}

/** The settings reference, as Markdown (the README's table) or as JSON. */
export function settingsReference(format: 'markdown' | 'json'): string {
  const manifests = settingsSpec(builtinPlugins).manifests;
  if (format === 'markdown') return renderSettingsTable(manifests);
  return JSON.stringify(
    manifests.map((m) => ({ id: m.id, name: m.name, settings: m.settings })),
    null,
    2,
  );
}
