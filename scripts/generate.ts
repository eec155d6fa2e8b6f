/**
 * `npm run schema`: writes every generated file (settings.schema.json, the settings types,
 * the README tables). Prints which files changed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/paths.js';
import { builtinPlugins } from '../plugins/index.js';
import { settingsSpec } from '../src/plugin/catalog.js';
import { generatedFiles } from '../src/settings/generated.js';

const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
for (const [path, content] of generatedFiles(settingsSpec(builtinPlugins), readme)) {
  const full = join(packageRoot, path);
  let current = '';
  try {
    current = readFileSync(full, 'utf8');
  } catch {
    // A missing file is written below.
  }
  if (current !== content) {
    writeFileSync(full, content);
    console.log(`updated ${path}`);
  }
}
