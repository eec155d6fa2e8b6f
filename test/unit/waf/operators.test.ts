import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandMacro, parseMacro } from '../../../src/waf/macro.js';
import { PhraseMatcher } from '../../../src/waf/operators/aho-corasick.js';
import { findOperator, type OperatorRuntime } from '../../../src/waf/operators/index.js';

const dataDir = mkdtempSync(join(tmpdir(), 'waf-op-'));
writeFileSync(join(dataDir, 'words.data'), '# comment\nfoo\n\nBarBaz\r\n');
writeFileSync(join(dataDir, 'nets.data'), '10.0.0.0/8\n2001:db8::/32\n192.168.1.1\n');

const vars: Record<string, string> = { 'TX.LIMIT': '5', 'TX.METHODS': 'GET HEAD POST' };

/** Builds an operator; `captures` collects TX.0–9 when given. */
function op(name: string, param = '', captures?: string[]): (value: string) => boolean {
  const factory = findOperator(name);
  if (typeof factory === 'string') throw new Error(factory);
  const fn = factory(parseMacro(param), { baseDir: dataDir, noteTranslated: () => undefined });
  if (typeof fn === 'string') throw new Error(fn);
  const rt: OperatorRuntime = {
    expand: (m) => expandMacro(m, (ref) => vars[`${ref.collection}.${(ref.key ?? '').toUpperCase()}`] ?? ''),
    captures,
    prefiltered: false,
  };
  return (value) => fn(value, rt);
}

describe('@rx', () => {
  it('matches PCRE patterns on byte strings', () => {
    expect(op('rx', '(?i)^sel')('SELECT')).toBe(true);
    expect(op('rx', '\\xff')('a\xffb')).toBe(true);
    expect(op('rx', '^a$')('a\n')).toBe(false); // DOLLAR_ENDONLY, as ModSecurity 2
  });
  it('fills TX.0–9 with capture', () => {
    const caps: string[] = [];
    expect(op('rx', '(\\d+)-(\\d+)', caps)('x 10-20')).toBe(true);
    expect(caps).toEqual(['10-20', '10', '20']);
  });
  it('expands macros in the pattern', () => {
    expect(op('rx', '^%{tx.limit}$')('5')).toBe(true);
    expect(op('rx', '^%{tx.limit}$')('6')).toBe(false);
  });
  it('refuses patterns it cannot translate', () => {
    const factory = findOperator('rx');
    if (typeof factory === 'string') throw new Error(factory);
    expect(typeof factory(parseMacro('a\\Gb'), { baseDir: '.', noteTranslated: () => undefined })).toBe('string');
  });
});

describe('@pm / @pmFromFile', () => {
  it('is case-insensitive and finds any phrase', () => {
    expect(op('pm', 'union select')('xxUNIONyy')).toBe(true);
    expect(op('pm', 'union select')('nothing')).toBe(false);
  });
  it('captures the phrase found', () => {
    const caps: string[] = [];
    op('pm', 'abc bcd', caps)('xxbcdxx');
    expect(caps).toEqual(['bcd']);
  });
  it('reads phrases from files relative to the rule file', () => {
    expect(op('pmFromFile', 'words.data')('the BARBAZ')).toBe(true);
    expect(op('pmf', 'words.data')('# comment')).toBe(false);
  });
  it('Aho-Corasick handles overlapping phrases', () => {
    const m = new PhraseMatcher(['he', 'she', 'hers', 'his']);
    expect(m.find('ushers')).toBe('she');
    expect(m.find('ahxs')).toBeUndefined();
    expect(new PhraseMatcher(['abcd', 'bc']).find('xabcx')).toBe('bc');
  });
});

describe('string operators', () => {
  it('streq, beginsWith, endsWith, contains, strmatch', () => {
    expect(op('streq', 'POST')('POST')).toBe(true);
    expect(op('streq', 'POST')('post')).toBe(false);
    expect(op('beginsWith', '/admin')('/admin/x')).toBe(true);
    expect(op('endsWith', '.php')('a.php')).toBe(true);
    expect(op('contains', 'evil')('xevilx')).toBe(true);
    expect(op('strmatch', 'evil')('good')).toBe(false);
  });
  it('within: the value occurs in the (macro-expanded) parameter', () => {
    expect(op('within', '%{tx.methods}')('GET')).toBe(true);
    expect(op('within', '%{tx.methods}')('PUT')).toBe(false);
    expect(op('within', 'a b')('')).toBe(true);
  });
  it('containsWord needs word boundaries', () => {
    expect(op('containsWord', 'select')('a select b')).toBe(true);
    expect(op('containsWord', 'select')('selection')).toBe(false);
  });
});

describe('numeric operators', () => {
  it('compare as integers, like atoi', () => {
    expect(op('eq', '5')('5')).toBe(true);
    expect(op('eq', '0')('abc')).toBe(true);
    expect(op('gt', '%{tx.limit}')('6')).toBe(true);
    expect(op('ge', '5')('5')).toBe(true);
    expect(op('lt', '5')('-1')).toBe(true);
    expect(op('le', '5')('6')).toBe(false);
    expect(op('eq', '12')(' 12abc')).toBe(true);
  });
});

describe('validation operators', () => {
  it('validateByteRange matches bytes outside the ranges', () => {
    expect(op('validateByteRange', '32-126')('hello')).toBe(false);
    expect(op('validateByteRange', '32-126')('hel\x01lo')).toBe(true);
    expect(op('validateByteRange', '9,10,13,32-126')('a\tb')).toBe(false);
  });
  it('validateUrlEncoding matches bad %-escapes', () => {
    expect(op('validateUrlEncoding')('a%20b')).toBe(false);
    expect(op('validateUrlEncoding')('a%2gb')).toBe(true);
    expect(op('validateUrlEncoding')('a%2')).toBe(true);
  });
  it('validateUtf8Encoding matches invalid UTF-8', () => {
    expect(op('validateUtf8Encoding')('caf\xc3\xa9')).toBe(false);
    expect(op('validateUtf8Encoding')('\xc0\xaf')).toBe(true); // overlong
    expect(op('validateUtf8Encoding')('\xe2\x82')).toBe(true); // truncated
    expect(op('validateUtf8Encoding')('\xed\xa0\x80')).toBe(true); // surrogate
  });
});

describe('@ipMatch', () => {
  it('matches addresses and networks, v4 and v6', () => {
    expect(op('ipMatch', '10.0.0.0/8,192.168.1.1')('10.1.2.3')).toBe(true);
    expect(op('ipMatch', '10.0.0.0/8,192.168.1.1')('192.168.1.2')).toBe(false);
    expect(op('ipMatch', '::1')('::1')).toBe(true);
    expect(op('ipMatch', '127.0.0.1')('::ffff:127.0.0.1')).toBe(true);
    expect(op('ipMatchFromFile', 'nets.data')('2001:db8::5')).toBe(true);
  });
});

describe('other operators', () => {
  it('unconditionalMatch / noMatch', () => {
    expect(op('unconditionalMatch')('x')).toBe(true);
    expect(op('noMatch')('x')).toBe(false);
  });
  it('verifyCC finds Luhn-valid numbers', () => {
    expect(op('verifyCC', '\\d{13,16}')('card 4111111111111111')).toBe(true);
    expect(op('verifyCC', '\\d{13,16}')('card 4111111111111112')).toBe(false);
  });
  it('refuses operators that need external services, with a reason', () => {
    expect(findOperator('rbl')).toMatch(/not supported/);
    expect(findOperator('geoLookup')).toMatch(/not supported/);
    expect(findOperator('bogus')).toMatch(/unknown operator/);
  });
});
