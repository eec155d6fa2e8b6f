import { describe, expect, it } from 'vitest';
import { translatePcre, type TranslatedRegex } from '../../../src/waf/regex/translate.js';

function tr(pattern: string): TranslatedRegex {
  const t = translatePcre(pattern);
  if ('error' in t) throw new Error(t.error);
  return t;
}

function re(pattern: string): RegExp {
  const t = tr(pattern);
  return new RegExp(t.source, t.flags);
}

describe('PCRE → JavaScript translation', () => {
  it('always compiles with DOTALL and keeps $ at the very end', () => {
    expect(tr('a.b').flags).toBe('s');
    expect(re('a.b').test('a\nb')).toBe(true);
    expect(re('a$').test('a\n')).toBe(false);
  });

  it('leading (?i) is spelled out as [sS][eE]… (so the linear engine can run it)', () => {
    const t = tr('(?i)select');
    expect(t.flags).toBe('s');
    expect(t.source).toBe('[sS][eE][lL][eE][cC][tT]');
    expect(t.translated).toBe(true);
    expect(re('(?i)select').test('SeLeCt')).toBe(true);
    expect(re('(?i)[a-c]x').test('BX')).toBe(true);
  });

  it('with useIgnoreCaseFlag, a wholly caseless pattern gets the i flag', () => {
    const t = translatePcre('(?i:abc|def)', { useIgnoreCaseFlag: true });
    expect('error' in t ? '' : t.flags).toBe('si');
    const mixed = translatePcre('ab(?i)c', { useIgnoreCaseFlag: true });
    expect('error' in mixed ? '' : mixed.flags).toBe('s');
  });

  it('(?i) in the middle expands letters of its scope only', () => {
    const r = re('ab(?i)cd');
    expect(r.flags).toBe('s');
    expect(r.test('abCD')).toBe(true);
    expect(r.test('ABcd')).toBe(false);
    const scoped = re('x(?i:y[a-c])Z');
    expect(scoped.test('xYBZ')).toBe(true);
    expect(scoped.test('xYBz')).toBe(false);
  });

  it('(?s) and (?m) inside the pattern', () => {
    expect(re('(?-s)a.b').test('a\nb')).toBe(false);
    expect(re('(?m)^b').test('a\nb')).toBe(true);
    expect(re('^b').test('a\nb')).toBe(false);
  });

  it('(?x) extended mode drops whitespace and comments', () => {
    expect(re('(?x) a b # comment\n c').test('abc')).toBe(true);
  });

  it('possessive quantifiers do not give back', () => {
    expect(re('^a++a').test('aaa')).toBe(false);
    expect(re('^a+a').test('aaa')).toBe(true);
    expect(re('^[ab]*+b').test('aab')).toBe(false);
    expect(re('^x?+x').test('x')).toBe(false);
    expect(re('^a{1,3}+a').test('aaa')).toBe(false);
    expect(tr('a*+').translated).toBe(true);
  });

  it('atomic groups (?>…) do not give back', () => {
    expect(re('^(?>a+)a').test('aaa')).toBe(false);
    expect(re('^(?>ab|a)c').test('ac')).toBe(true);
  });

  it('capture groups keep their PCRE numbers around synthetic groups', () => {
    const t = tr('(a)(?>b)(c)\\2');
    const m = new RegExp(t.source, t.flags).exec('abcc');
    expect(m).not.toBeNull();
    expect(m?.[t.captureMap[1] as number]).toBe('a');
    expect(m?.[t.captureMap[2] as number]).toBe('c');
  });

  it('anchors \\A \\z \\Z', () => {
    expect(re('\\Aab').test('xab')).toBe(false);
    expect(re('ab\\z').test('ab\n')).toBe(false);
    expect(re('ab\\Z').test('ab\n')).toBe(true);
  });

  it('POSIX classes', () => {
    expect(re('^[[:alpha:]]+$').test('abcXYZ')).toBe(true);
    expect(re('^[[:digit:][:space:]]+$').test('1 2\t3')).toBe(true);
    expect(re('[[:punct:]]').test('abc')).toBe(false);
    expect(re('^[[:xdigit:]]+$').test('0fA9')).toBe(true);
  });

  it('\\h, \\v, \\R, \\N', () => {
    expect(re('a\\hb').test('a\tb')).toBe(true);
    expect(re('a\\vb').test('a\nb')).toBe(true);
    expect(re('a\\Rb').test('a\r\nb')).toBe(true);
    expect(re('a\\Nb').test('a\nb')).toBe(false);
  });

  it('\\s is PCRE whitespace: no NBSP byte', () => {
    expect(re('a\\sb').test('a\xa0b')).toBe(false);
    expect(re('a[\\s]b').test('a\x0bb')).toBe(true);
  });

  it('\\Q…\\E quotes', () => {
    expect(re('\\Q.*+\\E').test('a.*+b')).toBe(true);
    expect(re('\\Q.*+\\E').test('abc')).toBe(false);
  });

  it('\\x{..}, octal, \\o{..}, \\e, \\cX', () => {
    expect(re('\\x{41}\\101\\o{102}').test('AAB')).toBe(true);
    expect(re('\\e\\cA').test('\x1b\x01')).toBe(true);
    expect(re('\\x4').test('\x04')).toBe(true);
    expect('error' in translatePcre('\\x{263a}')).toBe(true);
  });

  it('a leading ] in a class is literal', () => {
    expect(re('[]a]').test(']')).toBe(true);
    expect(re('[^]a]').test(']')).toBe(false);
  });

  it("named groups (?P<n>…), (?'n'…) and (?#comments)", () => {
    expect(re('(?P<x>a)(?#note)\\k<x>').test('aa')).toBe(true);
    expect(re("(?'y'b)\\k<y>").test('bb')).toBe(true);
  });

  it('bytes: \\xNN matches the byte, not a code point', () => {
    expect(re('\\xe9').test('\xe9')).toBe(true);
  });

  it('refuses what JavaScript cannot express', () => {
    for (const p of ['a\\Gb', '(?(1)a|b)', '(?|a)', 'a\\Kb', '\\p{L}', '(?R)', '(*UTF8)a']) {
      expect('error' in translatePcre(p), p).toBe(true);
    }
  });
});
