#!/usr/bin/env node
// Regenerates the reference answers the libinjection tests compare against, with the C
// libinjection built from oracle.c (see README.md in this folder):
//
//   node make-cases.mjs ./oracle
//
// writes ../samples-expected.tsv (every sample line) and ../cases.tsv (generated inputs chosen for
// distinct answers, so that the set covers many folding paths and HTML states).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, '..');
const oracle = process.argv[2];
if (!oracle) {
  process.stderr.write('usage: make-cases.mjs path/to/oracle\n');
  process.exit(2);
}

/** libinjection's sample reader: '+' is a space, %XX a byte when both digits are hex. */
function sampleDecode(line) {
  let out = '';
  for (let i = 0; i < line.length; ) {
    const c = line[i];
    if (c === '+') {
      out += ' ';
      i += 1;
    } else if (c === '%' && i + 2 < line.length && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(line.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}

/** %XX for bytes outside '!'..'~' and for '%' and '#' (so no line looks like a comment). */
export function caseEncode(input) {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    out += c > 0x20 && c < 0x7f && c !== 0x25 && c !== 0x23 ? input[i] : `%${c.toString(16).padStart(2, '0').toUpperCase()}`;
  }
  return out;
}

function ask(inputs) {
  const hex = inputs.map((s) => Buffer.from(s, 'latin1').toString('hex')).join('\n') + '\n';
  return execFileSync(oracle, { input: hex, maxBuffer: 1 << 30 }).toString('latin1').split('\n').slice(0, inputs.length);
}

// Samples
const sampleRows = [];
const sampleInputs = [];
for (const file of readdirSync(join(data, 'samples')).filter((f) => f.endsWith('.txt')).sort()) {
  readFileSync(join(data, 'samples', file), 'latin1')
    .split('\n')
    .forEach((raw, index) => {
      const line = raw.replace(/[ \t\r\n]+$/, '');
      if (line === '' || line.startsWith('#')) return;
      sampleRows.push(`${file}\t${index + 1}`);
      sampleInputs.push(sampleDecode(line));
    });
}
const sampleAnswers = ask(sampleInputs);
writeFileSync(
  join(data, 'samples-expected.tsv'),
  '# sample file, line, then from C libinjection: SQLi fingerprint or -, XSS 0/1, fingerprints of the 5 passes\n' +
    sampleRows.map((row, i) => `${row}\t${sampleAnswers[i]}`).join('\n') +
    '\n',
);

// Generated inputs: SQL-ish and HTML-ish fragments, mutated samples, random bytes.
let seed = 20240601;
const random = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
  return seed / 0x80000000;
};
const below = (n) => Math.floor(random() * n);
const pick = (list) => list[below(list.length)];
const sql = ["'", '"', '`', '\\', '/*', '*/', '/*!', '--', '-- ', '#', ';', '(', ')', '{', '}', '[', ']', ',', '.', '@', '@@', '$', '$$', '$a$', ':', '::', '=', '<', '>', '<=>', '!', '!!', '|', '&', '^', '~', '%', '+', '-', '*', '/', '?',
  '0x', '0x1f', '0b', '0b01', '1', '2.5', '.5', '1e', '1e5', '1.2f', '1d', '\\N', "N'", "q'[", "Q'{", "nq'<", "E'", "x'", "b'", "X'0f'", "B'01'", "U&'", ' ', '\t', '\n', '\x00', '\xa0', '\xff', '\x80', '\xe9',
  'sp_password', 'into outfile', 'IF', 'if(', 'USER(', 'user(1', 'collate', 'utf8_bin', 'IN (', 'NOT IN', 'like(', 'union all', 'union', 'select', 'SELECT', 'distinct', 'from', 'where', 'order by', 'group by', 'limit', 'and', 'or', 'xor', 'not', '||', '&&',
  "1'", "a'", "'1'='1", 'or 1=1', 'sleep(', 'benchmark(', 'char(', 'concat', 'database', 'current_user', 'version()', 'null', 'true', 'int', 'varchar', 'exec', 'declare', 'begin', 'waitfor delay', 'insert into', 'values', 'is', 'between', 'case when', 'then', 'end', 'foo', 'a', 'x'];
const html = ['<', '>', '</', '/>', '<!', '<!--', '-->', '--!>', '<?', '<%', '%>', '<![CDATA[', ']]>', '<!DOCTYPE', '<script', '<svg', '<xsl', '<img', '<a', '<iframe', '<style', '<b', ' ', '\t', '\n', '\x00', '\xff', '\x0b', '=', '"', "'", '`',
  'href', 'src', 'style', 'onload', 'onx', 'on', 'xmlns', 'xlink:href', 'attributename', 'values', 'formaction', 'title', 'javascript:', 'JaVaScRiPt:', 'data:', 'vbscript:', 'view-source:', 'http://x/', '&#106;', '&#x6a;', '&#X4A', '&#74', '&#', '&#x', '&', '&amp;', '&#0;', '&#10;',
  '&#x14A;', '&#362;', 'java', '[if', 'xml', 'import', 'entity', 'a', 'b', '1', 'x', '\xa0', '\x80', 'alert(1)', '/', 'sv\x00g', 'scr\x00ipt'];
const soup = (fragments) => {
  let out = random() < 0.3 ? pick(["1'", '1"', "a' ", '1 ', "'", '"', ') ', "1') ", '<', '">']) : '';
  const n = 1 + below(random() < 0.5 ? 6 : 16);
  for (let i = 0; i < n; i++) {
    out += random() < 0.92 ? pick(fragments) : String.fromCharCode(below(256));
    if (random() < 0.5) out += pick([' ', ' ', '', '\t', '(', '/**/', '\xa0', '+']);
  }
  return out;
};
const mutate = (text) => {
  let out = text;
  for (let k = 1 + below(3); k > 0; k--) {
    const at = below(out.length + 1);
    const op = below(4);
    if (op === 0) out = out.slice(0, at) + String.fromCharCode(below(256)) + out.slice(at);
    else if (op === 1) out = out.slice(0, at) + out.slice(at + 1 + below(3));
    else out = out.slice(0, at) + pick(op === 2 ? sql : html) + out.slice(at);
  }
  return out;
};
const candidates = [];
for (let i = 0; i < 300_000; i++) {
  const r = random();
  let input;
  if (r < 0.25) input = mutate(pick(sampleInputs));
  else if (r < 0.6) input = soup(sql);
  else if (r < 0.9) input = soup(html);
  else {
    input = '';
    for (let n = below(12); n > 0; n--) input += String.fromCharCode(random() < 0.5 ? below(256) : 32 + below(95));
  }
  if (input.length <= 80) candidates.push(input);
}
const answers = ask(candidates);
// One case per distinct verdict (SQLi fingerprint and XSS), then every 60th case with an answer
// (all 5 pass fingerprints) not seen yet: about 3,600 cases.
const verdicts = new Set();
const seen = new Set();
const rows = [];
let fresh = 0;
candidates.forEach((input, i) => {
  const answer = answers[i];
  const verdict = answer.split('\t').slice(0, 2).join('\t');
  if (seen.has(answer)) return;
  seen.add(answer);
  const newVerdict = !verdicts.has(verdict);
  verdicts.add(verdict);
  if (newVerdict || fresh++ % 60 === 0) rows.push(`${caseEncode(input)}\t${answer}`);
});
writeFileSync(
  join(data, 'cases.tsv'),
  '# input (%XX-encoded), then from C libinjection: SQLi fingerprint or -, XSS 0/1, fingerprints of the 5 passes\n' + rows.join('\n') + '\n',
);
process.stdout.write(`${sampleRows.length} sample lines, ${rows.length} generated cases\n`);
