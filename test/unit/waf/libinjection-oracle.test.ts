// The detectors against answers of the C libinjection ModSecurity 3.0.9 uses (see
// libinjection-data/README.md): libinjection's sample inputs, and generated inputs with NUL,
// high bytes and odd syntax. Beyond the verdicts, each of the five SQLi parsing passes must give
// the C fingerprint.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectSQLi, detectXSS } from '../../../src/waf/libinjection/index.js';
import { fingerprintPass } from '../../../src/waf/libinjection/sqli-check.js';
import { FLAG_QUOTE_DOUBLE, FLAG_QUOTE_NONE, FLAG_QUOTE_SINGLE, FLAG_SQL_ANSI, FLAG_SQL_MYSQL } from '../../../src/waf/libinjection/sqli-token.js';
import { SqliState } from '../../../src/waf/libinjection/sqli-tokenizer.js';

const dir = join(import.meta.dirname, 'libinjection-data');
const PASSES = [
  FLAG_QUOTE_NONE | FLAG_SQL_ANSI,
  FLAG_QUOTE_NONE | FLAG_SQL_MYSQL,
  FLAG_QUOTE_SINGLE | FLAG_SQL_ANSI,
  FLAG_QUOTE_SINGLE | FLAG_SQL_MYSQL,
  FLAG_QUOTE_DOUBLE | FLAG_SQL_MYSQL,
];

const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9a-fA-F]$/.test(c);

/** libinjection's sample reader: '+' is a space, %XX a byte when both digits are hex. */
function sampleDecode(line: string): string {
  let out = '';
  for (let i = 0; i < line.length;) {
    if (line[i] === '+') {
      out += ' ';
      i += 1;
    } else if (line[i] === '%' && isHex(line[i + 1]) && isHex(line[i + 2])) {
      out += String.fromCharCode(parseInt(line.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      out += line[i];
      i += 1;
    }
  }
  return out;
}

/** The cases' encoding: %XX for any byte. */
function caseDecode(text: string): string {
  return text.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function tsvRows(file: string): string[][] {
  return readFileSync(join(dir, file), 'latin1')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split('\t'));
}

const state = new SqliState();

/** What our code answers, in the reference format: fingerprint or -, xss, the 5 pass fingerprints. */
function answer(input: string): string {
  const sqli = detectSQLi(input);
  const passes = PASSES.map((flags) => fingerprintPass(state, input, flags) || '_').join(' ');
  return `${sqli.match ? sqli.fingerprint : '-'}\t${detectXSS(input) ? 1 : 0}\t${passes}`;
}

describe('libinjection samples, as the C code answers', () => {
  const expected = tsvRows('samples-expected.tsv');
  const byFile = new Map<string, Map<number, string>>();
  for (const [file, line, ...rest] of expected) {
    if (!file || !line) continue;
    if (!byFile.has(file)) byFile.set(file, new Map());
    byFile.get(file)?.set(Number(line), rest.join('\t'));
  }

  it('covers every sample line', () => {
    let lines = 0;
    for (const file of readdirSync(join(dir, 'samples')).filter((f) => f.endsWith('.txt'))) {
      for (const raw of readFileSync(join(dir, 'samples', file), 'latin1').split('\n')) {
        const line = raw.replace(/[ \t\r\n]+$/, '');
        if (line !== '' && !line.startsWith('#')) lines += 1;
      }
    }
    expect(expected.length).toBe(lines);
    expect(lines).toBe(4074);
  });

  for (const [file, lines] of byFile) {
    it(file, () => {
      const text = readFileSync(join(dir, 'samples', file), 'latin1').split('\n');
      const wrong: string[] = [];
      for (const [line, reference] of lines) {
        const input = sampleDecode((text[line - 1] ?? '').replace(/[ \t\r\n]+$/, ''));
        const ours = answer(input);
        if (ours !== reference) wrong.push(`line ${line} ${JSON.stringify(input)}: C ${reference} / ours ${ours}`);
      }
      expect(wrong).toEqual([]);
    });
  }
});

describe('generated inputs, as the C code answers', () => {
  const cases = tsvRows('cases.tsv');

  it(`all ${cases.length} of them`, () => {
    expect(cases.length).toBeGreaterThan(3000);
    const wrong: string[] = [];
    for (const [encoded, ...rest] of cases) {
      const input = caseDecode(encoded ?? '');
      const ours = answer(input);
      const reference = rest.join('\t');
      if (ours !== reference) wrong.push(`${JSON.stringify(input)}: C ${reference} / ours ${ours}`);
    }
    expect(wrong).toEqual([]);
  });
});
