import { describe, expect, it } from 'vitest';
import { parseJsonBody } from '../../../src/waf/body/json.js';
import { parseMultipart } from '../../../src/waf/body/multipart.js';
import { parseUrlEncoded } from '../../../src/waf/body/urlencoded.js';
import { parseXml } from '../../../src/waf/body/xml.js';
import { BASE_CONFIG } from '../../../src/waf/index.js';
import { ids, load, post, run } from './waf-test-kit.js';

describe('urlencoded', () => {
  it('decodes names and values, keeps bad escapes, skips empty parts', () => {
    expect(parseUrlEncoded('a=1&b=x+y%21&&c&d=%zz')).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: 'x y!' },
      { key: 'c', value: '' },
      { key: 'd', value: '%zz' },
    ]);
    expect(parseUrlEncoded('a=1;b=2', ';')).toHaveLength(2);
  });
});

describe('JSON (ModSecurity 3 argument names)', () => {
  it('names nested members and array elements', () => {
    const r = parseJsonBody('{"a":{"b":1,"c":"x"},"d":[5,true,null],"e":[{"f":"g"}]}');
    expect(r.error).toBeUndefined();
    expect(r.args).toEqual([
      { key: 'json.a.b', value: '1' },
      { key: 'json.a.c', value: 'x' },
      { key: 'json.d.array_0', value: '5' },
      { key: 'json.d.array_1', value: 'true' },
      { key: 'json.d.array_2', value: '' },
      { key: 'json.e.array_0e.f', value: 'g' },
    ]);
  });
  it('a top-level array and escapes (decoded to UTF-8 bytes)', () => {
    expect(parseJsonBody('["a\\u00e9\\n"]').args).toEqual([{ key: 'json.array_0', value: 'a\xc3\xa9\n' }]);
  });
  it('reports malformed JSON', () => {
    expect(parseJsonBody('{"a":').error).toMatch(/JSON parsing error/);
    expect(parseJsonBody('{"a":1} x').error).toMatch(/trailing/);
  });
});

describe('XML', () => {
  it('collects text content and attribute values, no entity resolution', () => {
    const doc = parseXml(
      '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r a="1"><b c=\'2\'>t&amp;x</b><![CDATA[<raw>]]><!-- c --></r>',
    );
    expect(doc).toEqual({ text: 't&x<raw>', attributes: ['1', '2'] });
  });
  it('refuses undeclared entities and malformed documents', () => {
    expect(typeof parseXml('<r>&x;</r>')).toBe('string');
    expect(typeof parseXml('<r><a></r>')).toBe('string');
    expect(typeof parseXml('<r/><s/>')).toBe('string');
    expect(typeof parseXml('text')).toBe('string');
  });
});

describe('multipart', () => {
  const ct = 'multipart/form-data; boundary=XyZ';
  const body = [
    '--XyZ',
    'Content-Disposition: form-data; name="a"',
    '',
    'one',
    '--XyZ',
    'Content-Disposition: form-data; name="f"; filename="x.php"',
    'Content-Type: text/plain',
    '',
    'data!',
    '--XyZ--',
    '',
  ].join('\r\n');
  it('splits arguments and files, keeps part headers', () => {
    const r = parseMultipart(body, ct);
    expect(r.error).toBeUndefined();
    expect(r.args).toEqual([{ key: 'a', value: 'one' }]);
    expect(r.files).toEqual([{ name: 'f', filename: 'x.php', size: 5 }]);
    expect(r.partHeaders).toEqual([
      { key: 'a', value: 'Content-Disposition: form-data; name="a"' },
      { key: 'f', value: 'Content-Disposition: form-data; name="f"; filename="x.php"' },
      { key: 'f', value: 'Content-Type: text/plain' },
    ]);
    expect(Object.values(r.flags).every((v) => v === 0)).toBe(true);
  });
  it('raises the strictness flags', () => {
    expect(parseMultipart(body.replace(/\r\n/g, '\n'), ct).flags.MULTIPART_LF_LINE).toBe(1);
    expect(parseMultipart('junk\r\n' + body, ct).flags.MULTIPART_DATA_BEFORE).toBe(1);
    expect(parseMultipart(body + 'trailing', ct).flags.MULTIPART_DATA_AFTER).toBe(1);
    expect(parseMultipart(body, 'multipart/form-data; boundary="XyZ"').flags.MULTIPART_BOUNDARY_QUOTED).toBe(1);
    expect(parseMultipart(body, 'multipart/form-data; boundary =XyZ').flags.MULTIPART_BOUNDARY_WHITESPACE).toBe(1);
    expect(parseMultipart(body.replace('form-data; name="a"', 'form-data name="a"'), ct).flags.MULTIPART_MISSING_SEMICOLON).toBe(1);
    expect(parseMultipart(body.replace('name="a"', 'name="a\'"'), ct).flags.MULTIPART_INVALID_QUOTING).toBe(1);
    expect(parseMultipart(body.replace('Content-Type: text/plain', 'Content-Type: text/plain\r\n folded'), ct).flags.MULTIPART_HEADER_FOLDING).toBe(1);
    expect(parseMultipart(body.replace('one', 'one\r\n--XyZa'), ct).flags.MULTIPART_UNMATCHED_BOUNDARY).toBe(1);
  });
  it('reports errors: missing final boundary, missing name, bad boundary', () => {
    expect(parseMultipart(body.replace('--XyZ--', ''), ct).error).toMatch(/final boundary/);
    expect(parseMultipart(body.replace('; name="a"', ''), ct).error).toMatch(/no name/);
    expect(parseMultipart(body, 'multipart/form-data').error).toMatch(/boundary/);
  });
});

describe('body processors in the engine, with the base configuration', () => {
  const rs = load(
    BASE_CONFIG +
      '\nSecRuleEngine DetectionOnly\n' +
      [
        'SecRule ARGS_POST:q "@streq 1" "id:1,phase:2,pass,log"',
        'SecRule XML:/* "@rx secret" "id:2,phase:2,pass,log"',
        'SecRule XML://@* "@streq v" "id:3,phase:2,pass,log"',
        'SecRule FILES "@rx \\.php$" "id:4,phase:2,pass,log"',
        'SecRule FILES_NAMES "@streq f" "id:5,phase:2,pass,log"',
        'SecRule ARGS:json.q "@streq 1" "id:6,phase:2,pass,log"',
        'SecRule REQUEST_BODY "@rx q=1" "id:7,phase:2,pass,log"',
        'SecRule &MULTIPART_PART_HEADERS "@gt 0" "id:8,phase:2,pass,log"',
      ].join('\n'),
  );
  it('URLENCODED fills ARGS_POST and REQUEST_BODY', () => {
    expect(ids(run(rs, ...post('/', 'application/x-www-form-urlencoded', 'q=1')).tx)).toEqual([1, 7]);
  });
  it('XML by Content-Type (rule 200000)', () => {
    expect(ids(run(rs, ...post('/', 'text/xml', '<a k="v">secret</a>')).tx)).toEqual([2, 3]);
  });
  it('JSON by Content-Type (rule 200001)', () => {
    expect(ids(run(rs, ...post('/', 'application/json', '{"q":"1"}')).tx)).toEqual([6]);
  });
  it('MULTIPART', () => {
    const body = '--b\r\nContent-Disposition: form-data; name="f"; filename="a.php"\r\n\r\nx\r\n--b--\r\n';
    expect(ids(run(rs, ...post('/', 'multipart/form-data; boundary=b', body)).tx)).toEqual([4, 5, 8]);
  });
  it('a body that fails to parse sets REQBODY_ERROR (rule 200002)', () => {
    const { tx } = run(rs, ...post('/', 'application/json', '{"q":'));
    expect(ids(tx)).toEqual([200002]);
    expect(tx.matches[0]?.data).toMatch(/JSON parsing error/);
  });
  it('multipart strict errors (rule 200003)', () => {
    const body = '--b\nContent-Disposition: form-data; name="a"\n\nx\n--b--\n';
    expect(ids(run(rs, ...post('/', 'multipart/form-data; boundary=b', body)).tx)).toContain(200003);
  });
});
