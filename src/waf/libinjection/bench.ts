/**
 * Micro-benchmark of detectSQLi and detectXSS on typical argument values and on attacks: time
 * per call, best of several rounds. Run after a build:
 *
 *   node dist/src/waf/libinjection/bench.js [rounds] [callsPerRound]
 *
 * Figures from the test runner are not representative: its module loader makes imported code
 * several times slower.
 */
import { detectSQLi, detectXSS } from './index.js';

const INPUTS: ReadonlyArray<readonly [label: string, value: string]> = [
  ['number', '42'],
  ['word', 'hello'],
  ['two words', 'hello world'],
  ['apostrophe', "O'Reilly"],
  ['email', 'john.doe@example.com'],
  ['uuid', '123e4567-e89b-12d3-a456-426614174000'],
  ['date', '2024-01-31T12:00:00Z'],
  ['url', 'https://example.com/search?q=shoes&page=2'],
  ['json', '{"id":17,"name":"Ann","tags":["a","b"]}'],
  ['user agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36'],
  ['sqli tautology', "1' or '1'='1"],
  ['sqli union', '-1 UNION ALL SELECT username, password FROM users--'],
  ['xss script', '<script>alert(1)</script>'],
  ['xss handler', '<img src=x onerror=alert(1)>'],
];

function timePerCall(fn: (value: string) => unknown, value: string, calls: number, rounds: number): number {
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) fn(value);
    const ns = Number(process.hrtime.bigint() - start) / calls;
    if (ns < best) best = ns;
  }
  return best;
}

const rounds = Number(process.argv[2] ?? 5);
const calls = Number(process.argv[3] ?? 100_000);

// Warm up both detectors on all inputs, so each figure measures optimized code.
for (let i = 0; i < 20_000; i++) for (const [, value] of INPUTS) detectXSS(value) || detectSQLi(value);

const rows = INPUTS.map(([label, value]) => {
  const sqli = timePerCall(detectSQLi, value, calls, rounds);
  const xss = timePerCall(detectXSS, value, calls, rounds);
  return { label, sqli, xss, verdict: `${detectSQLi(value).fingerprint || '-'} / ${detectXSS(value) ? 'xss' : '-'}` };
});
const width = Math.max(...rows.map((r) => r.label.length));
process.stdout.write(`${'input'.padEnd(width)}  detectSQLi  detectXSS  (µs per call, best of ${rounds} × ${calls})\n`);
for (const { label, sqli, xss, verdict } of rows) {
  process.stdout.write(`${label.padEnd(width)}  ${(sqli / 1000).toFixed(2).padStart(10)}  ${(xss / 1000).toFixed(2).padStart(9)}  ${verdict}\n`);
}
