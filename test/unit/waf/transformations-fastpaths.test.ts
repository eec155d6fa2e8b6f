/**
 * The fast transformations (runs copied natively, early returns when nothing changes)
 * against straightforward byte-by-byte references of ModSecurity's behaviour, on
 * generated inputs.
 */
import { describe, expect, it } from 'vitest';
import { findTransformation } from '../../../src/waf/transformations/index.js';

function t(name: string): (input: string) => string {
  const fn = findTransformation(name);
  if (!fn) throw new Error(`no transformation ${name}`);
  return fn;
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function hexPairAt(s: string, i: number): number {
  return i + 1 < s.length && hex(s.charCodeAt(i)) >= 0 && hex(s.charCodeAt(i + 1)) >= 0 ? hex(s.charCodeAt(i)) * 16 + hex(s.charCodeAt(i + 1)) : -1;
}

function refUrlDecode(s: string, uni: boolean): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const u = s[i + 1];
      if (uni && (u === 'u' || u === 'U') && hexPairAt(s, i + 2) >= 0 && hexPairAt(s, i + 4) >= 0) {
        const code = hexPairAt(s, i + 2) * 256 + hexPairAt(s, i + 4);
        out += String.fromCharCode(code >= 0xff01 && code <= 0xff5e ? code - 0xfee0 : code & 0xff);
        i += 5;
        continue;
      }
      const b = hexPairAt(s, i + 1);
      if (b >= 0) {
        out += String.fromCharCode(b);
        i += 2;
        continue;
      }
    }
    out += c === 0x2b ? ' ' : s[i];
  }
  return out;
}

function refCmdLine(s: string): string {
  let out = '';
  let space = false;
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if ('"\'\\^'.includes(ch)) continue;
    if (' ,;\t\r\n'.includes(ch)) {
      if (!space) out += ' ';
      space = true;
    } else if (ch === '/' || ch === '(') {
      if (space) out = out.slice(0, -1);
      space = false;
      out += ch;
    } else {
      out += c >= 0x41 && c <= 0x5a ? String.fromCharCode(c + 32) : ch;
      space = false;
    }
  }
  return out;
}

/** Deterministic strings over `alphabet`, lengths 0–60 and a few long ones. */
function* inputs(alphabet: string, count: number): Generator<string> {
  let x = 12345;
  for (let n = 0; n < count; n++) {
    const len = n % 50 === 0 ? 3000 : n % 61;
    let v = '';
    for (let i = 0; i < len; i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      v += alphabet[x % alphabet.length];
    }
    yield v;
  }
}

describe('transformation fast paths agree with byte-by-byte references', () => {
  it('urlDecode / urlDecodeUni, sparse and dense escapes', () => {
    for (const v of inputs('ab%%2F41zu+U0fFc', 2000)) {
      expect(t('urlDecode')(v), v).toBe(refUrlDecode(v, false));
      expect(t('urlDecodeUni')(v), v).toBe(refUrlDecode(v, true));
    }
  });

  it('cmdLine', () => {
    for (const v of inputs('aB /(,;\t\n"\'\\^x', 2000)) expect(t('cmdLine')(v), JSON.stringify(v)).toBe(refCmdLine(v));
  });

  it('compressWhitespace and lowercase', () => {
    for (const v of inputs('aZ \t\n\xa0\v\xc9\xdfQ', 2000)) {
      expect(t('compressWhitespace')(v)).toBe(v.replace(/[\t\n\v\f\r \xa0]+/g, ' '));
      expect(t('lowercase')(v)).toBe(v.replace(/[A-Z]/g, (m) => m.toLowerCase()));
    }
  });

  it('htmlEntityDecode leaves names Object.prototype knows alone', () => {
    expect(t('htmlEntityDecode')('&constructor;&toString&amp;')).toBe('&constructor;&toString&');
  });
});
