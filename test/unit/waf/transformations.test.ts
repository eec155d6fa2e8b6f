import { describe, expect, it } from 'vitest';
import { findTransformation } from '../../../src/waf/transformations/index.js';

/** Applies a transformation by its t: name. */
function t(name: string, input: string): string {
  const fn = findTransformation(name);
  if (!fn) throw new Error(`no transformation ${name}`);
  return fn(input);
}

describe('case', () => {
  it('lowercase/uppercase change ASCII letters only (C locale)', () => {
    expect(t('lowercase', 'ABC def \xc9')).toBe('abc def \xc9');
    expect(t('uppercase', 'abc DEF \xe9')).toBe('ABC DEF \xe9');
  });
  it('names are case-insensitive', () => {
    expect(t('base64decode', 'Zm9v')).toBe('foo');
    expect(findTransformation('nonexistent')).toBeUndefined();
  });
});

describe('url', () => {
  it('urlDecode: %XX and + ; invalid escapes kept', () => {
    expect(t('urlDecode', 'a%20b+c%2')).toBe('a b c%2');
    expect(t('urlDecode', '%zz%41')).toBe('%zzA');
  });
  it('urlDecodeUni: %uXXXX low byte, full-width ASCII mapped', () => {
    expect(t('urlDecodeUni', '%u0041%uff1c%u2215')).toBe('A<\x15');
    expect(t('urlDecodeUni', '%u00')).toBe('%u00');
  });
  it('urlEncode', () => {
    expect(t('urlEncode', 'a b/c*')).toBe('a+b%2fc*');
  });
});

describe('entities and escapes', () => {
  it('htmlEntityDecode: numeric, hex, the five named ones, ; optional', () => {
    expect(t('htmlEntityDecode', '&lt;a&gt; &#65;&#x42 &quot;&amp;&nbsp;&foo;')).toBe('<a> AB "&\xa0&foo;');
    expect(t('htmlEntityDecode', '&#x3c;&#60')).toBe('<<');
  });
  it('jsDecode', () => {
    expect(t('jsDecode', '\\x41\\u0042\\uff1c\\101\\n\\q')).toBe('AB<A\nq');
  });
  it('cssDecode', () => {
    expect(t('cssDecode', 'j\\61vascript')).toBe('javascript');
    expect(t('cssDecode', '\\00003c b')).toBe('<b');
    expect(t('cssDecode', 'a\\\nb\\x')).toBe('abx');
  });
  it('escapeSeqDecode', () => {
    expect(t('escapeSeqDecode', '\\x41\\n\\101\\\\\\z')).toBe('A\nA\\\\z');
  });
});

describe('whitespace and nulls', () => {
  it('compressWhitespace / removeWhitespace include NBSP', () => {
    expect(t('compressWhitespace', 'a \t\n\xa0b')).toBe('a b');
    expect(t('removeWhitespace', ' a b\xa0c ')).toBe('abc');
  });
  it('trim family', () => {
    expect(t('trim', '  a b  ')).toBe('a b');
    expect(t('trimLeft', '  a ')).toBe('a ');
    expect(t('trimRight', ' a  ')).toBe(' a');
  });
  it('removeNulls / replaceNulls', () => {
    expect(t('removeNulls', 'a\0b')).toBe('ab');
    expect(t('replaceNulls', 'a\0b')).toBe('a b');
  });
});

describe('comments', () => {
  it('removeComments removes C and HTML comments, and -- or # to the end', () => {
    expect(t('removeComments', 'se/**/lect <!-- x -->1 -- rest')).toBe('select 1 ');
    expect(t('removeComments', 'a#b')).toBe('a');
  });
  it('replaceComments replaces each C comment with a space', () => {
    expect(t('replaceComments', 'a/*x*/b/*y')).toBe('a b ');
  });
  it('removeCommentsChar removes the markers only', () => {
    expect(t('removeCommentsChar', '/*a*/ <!--b--> --c #d')).toBe('a b c d');
  });
});

describe('cmdLine', () => {
  it('follows the documented normalisation', () => {
    expect(t('cmdLine', 'C^OMMAND /C DIR')).toBe('command/c dir');
    expect(t('cmdLine', 'ca\\t "/etc/pa"ss\'wd\'; ls ,x')).toBe('cat/etc/passwd ls x');
    expect(t('cmdLine', 'a  (b')).toBe('a(b');
  });
});

describe('paths', () => {
  it('normalisePath', () => {
    expect(t('normalisePath', '/a//b/./c/../d')).toBe('/a/b/d');
    expect(t('normalizePath', '/../etc/passwd')).toBe('/etc/passwd');
    expect(t('normalisePath', 'a/../../b/')).toBe('../b/');
    expect(t('normalisePath', '/a/b')).toBe('/a/b');
  });
  it('normalisePathWin turns backslashes into slashes first', () => {
    expect(t('normalisePathWin', 'c:\\a\\..\\b')).toBe('c:/b');
    expect(t('normalizePathWin', '\\x\\.\\y')).toBe('/x/y');
  });
});

describe('encodings', () => {
  it('base64Decode stops at the first invalid byte; base64DecodeExt skips them', () => {
    expect(t('base64Decode', 'Zm9vYmFy')).toBe('foobar');
    expect(t('base64Decode', 'Zm9v.YmFy')).toBe('foo');
    expect(t('base64DecodeExt', 'Zm9v.YmFy')).toBe('foobar');
    expect(t('base64Encode', 'foo')).toBe('Zm9v');
  });
  it('hex', () => {
    expect(t('hexEncode', 'AB\xff')).toBe('4142ff');
    expect(t('hexDecode', '414243')).toBe('ABC');
    expect(t('sqlHexDecode', 'select 0x414243')).toBe('select ABC');
  });
  it('utf8toUnicode converts multi-byte sequences to %uXXXX', () => {
    expect(t('utf8toUnicode', 'a\xc3\xa9\xe2\x82\xac')).toBe('a%u00e9%u20ac');
    expect(t('utf8toUnicode', 'a\xc3')).toBe('a\xc3');
  });
  it('length, md5, sha1', () => {
    expect(t('length', 'abcd')).toBe('4');
    expect(Buffer.from(t('md5', 'abc'), 'latin1').toString('hex')).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(Buffer.from(t('sha1', 'abc'), 'latin1').toString('hex')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
  });
  it('parity', () => {
    expect(t('parityEven7bit', 'A').charCodeAt(0)).toBe(0x41);
    expect(t('parityEven7bit', 'C').charCodeAt(0)).toBe(0xc3);
    expect(t('parityOdd7bit', 'A').charCodeAt(0)).toBe(0xc1);
    expect(t('parityZero7bit', '\xc1')).toBe('A');
  });
});
