import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { builtinPlugins } from '../../plugins/index.js';
import { settingsSpec } from '../../src/plugin/catalog.js';
import { generatedFiles } from '../../src/settings/generated.js';
import { compileValidator, settingsAjv, settingsSchemaHash } from '../../src/settings/validate.js';
import { schemaHash, validate } from '../../src/settings/validator.generated.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
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

  it("validates the build's schema with the precompiled validator, which finds what ajv compiled at run time finds", () => {
    const schema = jsonSchema(composeSettings(settingsSpec(builtinPlugins).manifests));
    const compiled = settingsAjv().compile(schema);
    const precompiled = validate as unknown as ValidateFunction;
    const defaults = Object.fromEntries(Object.entries(schema.properties as Record<string, { default: unknown }>).map(([name, s]) => [name, s.default]));
    const bad = {
      ...defaults,
      HTTP_PORT: 70000,
      HTTP_ADDRESS: 'nowhere',
      REAL_IP_FROM: ['10.0.0.0/8', 'x'],
      LIMIT_REQ_RATE: 'often',
      LIMIT_REQ_URL_3: '/',
      UNKNOWN: 1,
    };
    for (const values of [defaults, bad]) {
      expect(precompiled(values)).toBe(compiled(values));
      expect(precompiled.errors).toEqual(compiled.errors);
    }
    expect(compiled(bad)).toBe(false);
    // compileValidator takes the precompiled one for the schema whose hash it records (else a
    // boot would compile the schema again), and names the violations the loader reports.
    expect(settingsSchemaHash(schema)).toBe(schemaHash);
    // (Empty defaults fail their own lengths: the loader never checks a default.)
    const named = compileValidator(schema)(bad).filter((v) => defaults[v.name] !== '');
    expect(named.map((v) => v.name)).toEqual(['HTTP_PORT', 'HTTP_ADDRESS', 'REAL_IP_FROM', 'LIMIT_REQ_RATE']);
  });
});
