import { describe, expect, it } from 'vitest';
import { LiteralFilter, PrefilterIndex } from '../../../src/waf/regex/prefilter-index.js';
import { requiredLiterals } from '../../../src/waf/regex/prefilter.js';
import { translatePcre } from '../../../src/waf/regex/translate.js';

function literals(pcre: string): string[] | undefined {
  const t = translatePcre(pcre);
  if ('error' in t) throw new Error(t.error);
  return requiredLiterals(t.source)?.sort();
}

describe('required-literal prefilter', () => {
  it('extracts the keywords a match must contain', () => {
    expect(literals('(?i)union\\s+select')).toEqual(['select']);
    expect(literals('(?:etc/passwd|/bin/sh)')).toEqual(['/bin/sh', 'etc/passwd']);
    expect(literals('(?i:<script[^>]*>)')).toEqual(['<script']);
  });
  it('gives up on patterns without a literal requirement', () => {
    expect(literals('^\\d+$')).toBeUndefined();
    expect(literals('a?b*')).toBeUndefined();
    expect(literals('(a)\\1|x*')).toBeUndefined();
  });
  it('never rejects a value the regex matches (sampled)', () => {
    const cases: Array<[string, string]> = [
      ['(?i)union\\s+select', 'UNION  SELECT'],
      ['(?i:<script[^>]*>)', '<SCRIPT src=x>'],
      ['a(?=b)b', 'ab'],
      ['(?:x|yz)+w', 'yzyzw'],
      ['f(?:oo|aa){2}', 'fooaa'],
    ];
    for (const [pcre, value] of cases) {
      const lits = literals(pcre);
      expect(lits, pcre).toBeDefined();
      const index = new PrefilterIndex();
      expect(new LiteralFilter(index, index.register(lits as string[])).mayContain(value), pcre).toBe(true);
    }
  });
  it('one pass answers for every registered regex', () => {
    const index = new PrefilterIndex();
    const sql = new LiteralFilter(index, index.register(['select', 'union']));
    const xss = new LiteralFilter(index, index.register(['<script', 'onerror']));
    const dots = new LiteralFilter(index, index.register(['../', 'lect']));
    expect(sql.mayContain('hello world')).toBe(false);
    expect(sql.mayContain('xxSeLeCtxx')).toBe(true);
    expect(sql.mayContain('lectures')).toBe(false);
    expect(dots.mayContain('lectures')).toBe(true);
    expect(xss.mayContain('a ONERROR=b')).toBe(true);
    expect(xss.mayContain('<scrip')).toBe(false);
    expect(index.verdict('..//union')).toEqual(new Uint8Array([1, 0, 1]));
  });
});
