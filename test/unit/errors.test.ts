import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorCodes } from '../../src/errors.js';
import { packageRoot } from '../../src/paths.js';
import { productSources, withoutComments } from '../helpers/sources.js';

const CODE = /PAL_[A-Z0-9_]+/g;
const registry = new Set(Object.keys(errorCodes));
const files = productSources();
const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');

describe('error-code registry, both ways', () => {
  it('documents every registry code in the README, and the README names no other', () => {
    for (const name of registry) expect(readme, name).toContain(`\`${name}\``);
    const named = new Set(readme.match(CODE));
    expect([...named].filter((name) => !registry.has(name))).toEqual([]);
  });

  it('emits only registry codes', () => {
    const unknown: string[] = [];
    for (const [path, text] of files) for (const name of text.match(CODE) ?? []) if (!registry.has(name)) unknown.push(`${path}: ${name}`);
    expect(unknown).toEqual([]);
  });

  it('emits every registry code somewhere outside the registry', () => {
    const emitted = new Set<string>();
    for (const [path, text] of files) if (path !== join('src', 'errors.ts')) for (const name of withoutComments(text).match(CODE) ?? []) emitted.add(name);
    expect([...registry].filter((name) => !emitted.has(name))).toEqual([]);
  });

  it('logs codes through the typed helper, never as a bare string', () => {
    const bare: string[] = [];
    const call = /\blog(?:ger)?\.(?:fatal|error|warn|info|debug|trace)\(\s*\{[^}]*\bcode\s*[:,}]/g;
    for (const [path, text] of files) for (const match of withoutComments(text).match(call) ?? []) bare.push(`${path}: ${match}`);
    expect(bare).toEqual([]);
  });
});
