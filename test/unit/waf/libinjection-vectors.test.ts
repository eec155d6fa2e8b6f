// libinjection's own unit vectors (test/unit/waf/libinjection-data/tests, copied from its tests/
// folder, BSD-3-Clause, see LICENSE there): tokenizer, folding, SQLi fingerprint and HTML5 tokenizer
// output, printed the way libinjection's test driver prints them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Html5Start, Html5Tokenizer, Html5Type } from '../../../src/waf/libinjection/html5-tokenizer.js';
import { detectSQLi } from '../../../src/waf/libinjection/index.js';
import { fold } from '../../../src/waf/libinjection/sqli-fold.js';
import { FLAG_QUOTE_NONE, FLAG_SQL_ANSI, type Token } from '../../../src/waf/libinjection/sqli-token.js';
import { nextToken, SqliState } from '../../../src/waf/libinjection/sqli-tokenizer.js';

const dir = join(import.meta.dirname, 'libinjection-data', 'tests');

interface Vector {
  name: string;
  input: string;
  expected: string;
}

/** Trailing space, tab, CR and LF removed, as the driver trims input, expectation and output. */
function rtrim(text: string): string {
  return text.replace(/[ \t\r\n]+$/, '');
}

/** Reads a vector file (bytes as latin1): --TEST--, --INPUT--, --EXPECTED-- sections. */
function readVector(file: string): Vector {
  const lines = readFileSync(join(dir, file), 'latin1').split(/(?<=\n)/);
  const parts = ['', '', ''];
  let section = -1;
  for (const line of lines) {
    if (section === -1 && line === '--TEST--\n') section = 0;
    else if (section === 0 && line === '--INPUT--\n') section = 1;
    else if (section === 1 && line === '--EXPECTED--\n') section = 2;
    else if (section >= 0) parts[section] += line;
    else throw new Error(`${file}: text before --TEST--`);
  }
  if (section !== 2) throw new Error(`${file}: incomplete`);
  return { name: rtrim(parts[0] ?? ''), input: rtrim(parts[1] ?? ''), expected: rtrim(parts[2] ?? '') };
}

/** Text up to the first NUL, as printf("%s") prints it. */
function cText(text: string): string {
  const nul = text.indexOf('\0');
  return nul < 0 ? text : text.slice(0, nul);
}

function printToken(t: Token): string {
  const type = String.fromCharCode(t.type);
  const quoted = (): string => (t.strOpen ? String.fromCharCode(t.strOpen) : '') + cText(t.val) + (t.strClose ? String.fromCharCode(t.strClose) : '');
  if (type === 's') return `${type} ${quoted()}\n`;
  if (type === 'v') return `${type} ${'@'.repeat(t.count >= 2 ? 2 : t.count >= 1 ? 1 : 0)}${quoted()}\n`;
  return `${type} ${cText(t.val)}\n`;
}

function tokensOf(input: string): string {
  const st = new SqliState();
  st.reset(input, FLAG_QUOTE_NONE | FLAG_SQL_ANSI);
  let out = '';
  while (nextToken(st)) out += printToken(st.current);
  return out;
}

function foldedOf(input: string): string {
  const st = new SqliState();
  st.reset(input, FLAG_QUOTE_NONE | FLAG_SQL_ANSI);
  const count = fold(st);
  let out = '';
  for (let i = 0; i < count; i++) out += printToken(st.tokens[i] as Token);
  return out;
}

const HTML5_NAMES = Object.fromEntries(
  Object.entries({
    DATA_TEXT: Html5Type.DataText,
    TAG_NAME_OPEN: Html5Type.TagNameOpen,
    TAG_NAME_CLOSE: Html5Type.TagNameClose,
    TAG_NAME_SELFCLOSE: Html5Type.TagNameSelfClose,
    TAG_DATA: Html5Type.TagData,
    TAG_CLOSE: Html5Type.TagClose,
    ATTR_NAME: Html5Type.AttrName,
    ATTR_VALUE: Html5Type.AttrValue,
    TAG_COMMENT: Html5Type.TagComment,
    DOCTYPE: Html5Type.Doctype,
  }).map(([name, type]) => [type, name]),
);

function html5Of(input: string): string {
  const h = new Html5Tokenizer();
  h.init(input, Html5Start.Data);
  let out = '';
  while (h.next()) out += `${HTML5_NAMES[h.tokenType]},${h.tokenLen},${cText(input.slice(h.tokenStart, h.tokenStart + h.tokenLen))}\n`;
  return out;
}

function sqliOf(input: string): string {
  const { match, fingerprint } = detectSQLi(input);
  return match ? fingerprint : '';
}

const kinds: ReadonlyArray<readonly [label: string, prefix: string, run: (input: string) => string]> = [
  ['tokenizer', 'test-tokens-', tokensOf],
  ['folding', 'test-folding-', foldedOf],
  ['SQLi fingerprints', 'test-sqli-', sqliOf],
  ['HTML5 tokenizer', 'test-html5-', html5Of],
];

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.txt'))
  .sort();

describe('libinjection test vectors', () => {
  it('are all here and all of a known kind', () => {
    expect(files.length).toBe(480);
    expect(files.filter((f) => !kinds.some(([, prefix]) => f.startsWith(prefix)))).toEqual([]);
  });

  for (const [label, prefix, run] of kinds) {
    describe(label, () => {
      for (const file of files.filter((f) => f.startsWith(prefix))) {
        const vector = readVector(file);
        it(`${file}: ${vector.name}`, () => {
          expect(rtrim(run(vector.input))).toBe(vector.expected);
        });
      }
    });
  }
});
