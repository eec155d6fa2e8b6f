import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { builtinPlugins } from '../../plugins/index.js';
import { settingsSpec } from '../../src/plugin/catalog.js';
import { generatedFiles } from '../../src/settings/generated.js';
import { compileValidator } from '../../src/settings/validate.js';
import { composeSettings, jsonSchema } from '../../src/settings/schema.js';

describe('generated files', () => {
  const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
  for (const [path, content] of generatedFiles(settingsSpec(builtinPlugins), readme)) {
    it(`${path} is up to date (run \`npm run schema\` when this fails)`, () => {
      expect(readFileSync(join(packageRoot, path), 'utf8')).toBe(content);
    });
  }

  it('every non-empty default satisfies its own schema', () => {
    const composed = composeSettings(settingsSpec(builtinPlugins).manifests);
    const validate = compileValidator(jsonSchema(composed));
    const defaults = Object.fromEntries([...composed.schemas].map(([name, schema]) => [name, schema.default]));
    const violations = validate(defaults).filter((v) => defaults[v.name] !== '');
    expect(violations).toEqual([]);
  });
});
