import { describe, expect, it } from 'vitest';
import { alternativesOf } from '../../../src/waf/regex/branches.js';
import { compilePcre, runRegex } from '../../../src/waf/operators/rx.js';
import { PrefilterIndex } from '../../../src/waf/regex/prefilter-index.js';
import { translatePcre } from '../../../src/waf/regex/translate.js';

function source(pcre: string): string {
  const t = translatePcre(pcre);
  if ('error' in t) throw new Error(t.error);
  return t.source;
}

/** A small deterministic generator of values over an alphabet. */
function* values(alphabet: string, count: number, seed = 7): Generator<string> {
  let x = seed;
  for (let n = 0; n < count; n++) {
    let v = '';
    const len = n % 23;
    for (let i = 0; i < len; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      v += alphabet[x % alphabet.length];
    }
    yield v;
  }
}

describe('regex alternatives', () => {
  it('splits top-level alternations and distributes prefixes and suffixes', () => {
    expect(alternativesOf('a|b')).toEqual(['a', 'b']);
    expect(alternativesOf('x(?:a|b)y')).toEqual(['x(?:a)y', 'x(?:b)y']);
    expect(alternativesOf('\\b(?:s(?:elect|chema)|union)')).toEqual(['\\b(?:s(?:elect))', '\\b(?:s(?:chema))', '\\b(?:union)']);
    expect(alternativesOf('(a|b)c')).toEqual(['(a)c', '(b)c']);
  });

  it('leaves alone what cannot be distributed', () => {
    expect(alternativesOf('(?:a|b)+c')).toBeUndefined(); // quantified group
    expect(alternativesOf('(?=a|b)c')).toBeUndefined(); // lookahead
    expect(alternativesOf('(a)|\\1')).toBeUndefined(); // back-reference
    expect(alternativesOf('[a|b]c')).toBeUndefined(); // `|` in a class
    expect(alternativesOf('abc')).toBeUndefined();
  });

  it('a value matches the regex exactly when it matches one alternative (sampled)', () => {
    const patterns = [
      '(?i)(?:\\bunion\\s+select|select.*?user\\(|[\'"](?:;?\\s*(?:having|select)\\b))',
      '(?:^admin\\s*[\'"]|\\d[\'"]\\s+[\'"]\\s+\\d|where\\s[\\s\\w.,-]+\\s=)',
      'x(?:a|b(?:c|d)|)y$',
    ];
    for (const p of patterns) {
      const src = source(p);
      const whole = new RegExp(src, 's');
      const alts = (alternativesOf(src) ?? []).map((a) => new RegExp(a, 's'));
      expect(alts.length, p).toBeGreaterThan(1);
      for (const v of values('ab xyd\'"1 selectunion(userhavingwhere=;,admin', 3000)) {
        expect(
          alts.some((a) => a.test(v)),
          `${p} on ${JSON.stringify(v)}`,
        ).toBe(whole.test(v));
      }
    }
  });

  it('@rx runs only the alternatives whose literals a long value contains, with the same verdicts', () => {
    const pcre = '(?i)(?:select.*?\\w?user\\(|union\\s+all|\\binto\\s+outfile)';
    const index = new PrefilterIndex();
    const compiled = compilePcre(pcre, index, index);
    if (typeof compiled === 'string') throw new Error(compiled);
    index.seal();
    expect(compiled.alternatives?.list.length).toBe(3);
    const rt = { expand: () => '', captures: undefined, prefiltered: false };
    const long = 'select '.repeat(200);
    for (const v of [long, long + 'user(', 'x'.repeat(300) + 'UNION ALL', 'x'.repeat(300) + ' into  outfile', 'y'.repeat(400)]) {
      expect(runRegex(compiled, v, rt), v.slice(-20)).toBe(compiled.regex.test(v));
    }
  });
});
