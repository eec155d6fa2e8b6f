// What CRS 942100 (@detectSQLi) and 941100 (@detectXSS) see: typical attack payloads and
// ordinary values, with the answers libinjection gives under ModSecurity 3.0.9 (checked against
// the C code), including its well-known quirks.
import { describe, expect, it } from 'vitest';
import { detectSQLi, detectXSS } from '../../../src/waf/libinjection/index.js';

describe('detectSQLi', () => {
  const attacks: ReadonlyArray<readonly [input: string, fingerprint: string]> = [
    ["1' or '1'='1", 's&sos'],
    ['1 UNION SELECT', '1UE'],
    ['1 UNION SELECT 1,2,3--', '1UE1c'],
    ['-1 UNION ALL SELECT username, password FROM users--', '1UEnk'],
    ["' OR 1=1--", 's&1c'],
    ["admin'--", 'sc'],
    ['1; DROP TABLE users', '1;Tnn'],
    ['1 AND 1=1', '1&1'],
    ['1 OR 1=1', '1&1'],
    ["1' AND SLEEP(5)#", 's&f(1'],
    ["' or ''='", 's&sos'],
    ['1) or (1=1', '1)&(1'],
    ['" or "a"="a', 's&sos'],
    ["1' waitfor delay '0:0:5'--", 'sEsc'],
    ['SELECT * FROM users WHERE id = 1', 'Eoknk'],
    ['1/**/union/**/select/**/1', '1UE1'],
    ['concat(0x7e,version())', 'f(1,f'],
    // Nested and MySQL conditional comments cannot be parsed reliably: always SQLi.
    ['1 /*! union */ select', 'X'],
    ['/* /* */', 'X'],
    // Known false positive of libinjection: "and" between comparisons.
    ['2 < 3 and 5 > 4', '1&1'],
  ];
  for (const [input, fingerprint] of attacks) {
    it(`flags ${JSON.stringify(input)} as ${fingerprint}`, () => {
      expect(detectSQLi(input)).toEqual({ match: true, fingerprint });
    });
  }

  const benign = [
    '',
    'hello world',
    "O'Reilly",
    'john.doe@example.com',
    '123e4567-e89b-12d3-a456-426614174000',
    'Hello, how are you?',
    '1 union',
    'union select',
    'select',
    '@@version',
    "it's",
    '1 - 1',
    'x=1&y=2',
    'https://example.com/path?q=1',
    '2024-01-31T12:00:00Z',
  ];
  for (const input of benign) {
    it(`passes ${JSON.stringify(input)}`, () => {
      expect(detectSQLi(input)).toEqual({ match: false, fingerprint: '' });
    });
  }

  it('works on bytes: NUL and 0xA0 are white space, high bytes are word chars', () => {
    expect(detectSQLi("1'\0or\0'1'='1")).toEqual({ match: true, fingerprint: 's&sos' });
    expect(detectSQLi('1\xa0UNION\xa0SELECT\xa02--')).toEqual({ match: true, fingerprint: '1UE1c' });
    expect(detectSQLi('caf\xe9 or th\xe9').match).toBe(false);
  });

  it('gives the same answer for the same input whatever came before (state is reused)', () => {
    const first = detectSQLi("1' or '1'='1");
    detectSQLi('1 UNION SELECT 1,2,3--');
    detectSQLi('hello');
    expect(detectSQLi("1' or '1'='1")).toEqual(first);
  });
});

describe('detectXSS', () => {
  const attacks = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<svg onload=alert(1)>',
    '" onmouseover="alert(1)',
    "' style='x:expression(alert(1))",
    '<iframe src=//evil>',
    '<!DOCTYPE html>',
    '<!--[if IE]><script>x</script><![endif]-->',
    '<scr\0ipt>',
  ];
  for (const input of attacks) {
    it(`flags ${JSON.stringify(input)}`, () => {
      expect(detectXSS(input)).toBe(true);
    });
  }

  const benign = [
    '',
    'hello world',
    "O'Reilly",
    'john.doe@example.com',
    '<b>bold</b>',
    '2 < 3 and 5 > 4',
    'javascript:alert(1)', // a URL alone is not in an attribute
    '<a href="https://example.com/">x</a>',
    '<p title="on">x</p>',
  ];
  for (const input of benign) {
    it(`passes ${JSON.stringify(input)}`, () => {
      expect(detectXSS(input)).toBe(false);
    });
  }
});
