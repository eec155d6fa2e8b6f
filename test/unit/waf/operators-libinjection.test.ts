import { describe, expect, it } from 'vitest';
import { parseMacro } from '../../../src/waf/macro.js';
import { findOperator } from '../../../src/waf/operators/index.js';

function run(name: string, value: string, captures?: string[]): boolean {
  const factory = findOperator(name);
  if (typeof factory === 'string') throw new Error(factory);
  const fn = factory(parseMacro(''), { baseDir: '.', noteTranslated: () => undefined });
  if (typeof fn === 'string') throw new Error(fn);
  return fn(value, { expand: (m) => m.text, captures, prefiltered: false });
}

describe('@detectSQLi / @detectXSS', () => {
  it('detect classic payloads and capture the fingerprint', () => {
    const caps: string[] = [];
    expect(run('detectSQLi', "1' or '1'='1", caps)).toBe(true);
    expect(caps[0]).toBe('s&sos');
    expect(run('detectSQLi', 'hello world')).toBe(false);
    expect(run('detectXSS', '<script>alert(1)</script>')).toBe(true);
    expect(run('detectXSS', 'just text')).toBe(false);
  });
});
