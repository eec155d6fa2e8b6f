import { describe, expect, it } from 'vitest';
import { LiteralFilter, PrefilterIndex } from '../../../src/waf/regex/prefilter-index.js';
import { requiredLiteralSets, requiredLiterals } from '../../../src/waf/regex/prefilter.js';
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
    expect([...index.hits('..//union')]).toEqual([0b101]);
    expect([...index.hits('nothing here')]).toEqual([0]);
  });
  it('keeps several required sets when each is selective (all must occur)', () => {
    const sets = (pcre: string): string[][] | undefined => {
      const t = translatePcre(pcre);
      if ('error' in t) throw new Error(t.error);
      return requiredLiteralSets(t.source, t.flags)?.map((set) => set.sort());
    };
    expect(sets('on[a-z]{3}=')).toEqual([['on'], ['=']]);
    expect(sets('(?:abc|defg)x*\\(.*\\)')).toEqual([['abc', 'defg'], ['('], [')']]);
    // x{n} lists its concatenations (path traversal's dot pairs).
    expect(sets('(?:\\.|%2e){2}/')?.[0]).toEqual(['%2e%2e/', '%2e./', '.%2e/', '../']);
    // A lone letter is a poor requirement: the rarer control bytes win.
    expect(sets('[\\n\\r]+(?:\\s|location)\\s*:')?.[0]).toEqual(['\n', '\r']);
  });

  it('takes bytes above 0x7F as literals unless the regex is caseless', () => {
    const t = translatePcre('\\xbc[^\\xbe>]*[\\xbe>]');
    if ('error' in t) throw new Error(t.error);
    expect(requiredLiterals(t.source, t.flags)).toEqual(['\xbc']);
    expect(requiredLiterals(t.source, 'si')).toBeUndefined();
  });

  it('a filter of several sets needs all of them in the value', () => {
    const index = new PrefilterIndex();
    const both = new LiteralFilter(index, [index.register(['on']), index.register(['='])]);
    expect(both.mayContain('session')).toBe(false);
    expect(both.mayContain('a=b')).toBe(false);
    expect(both.mayContain('x onload=1')).toBe(true);
  });
});
