/**
 * In-process micro-benchmark of the WAF engine with the CRS at paranoia level 1:
 * a clean browser GET and a 2 KiB urlencoded form with 20 fields (CPU time per
 * evaluation: median and minimum of several rounds — the machine is shared, compare
 * figures of one run), a benign 128 KiB text form at PL1 and PL4 (wall time, and
 * whether the inspection budget refused it), and the ReDoS check (the CRS's heaviest
 * regexes on 128 KiB adversarial inputs at PL4; no evaluation may exceed 50 ms).
 *
 * Usage: node dist/scripts/waf-bench.js [--rules DIR] [--setup FILE] [--no-linear-fallback]
 *        [--redos-only | --no-redos] [--redos-size BYTES] [--rounds N] [--budget MS]
 */
import { pathToFileURL } from 'node:url';
import { BASE_CONFIG, loadRules, type RuleSet, type WafRequest } from '../src/waf/index.js';
import { CRS_RULES, CRS_SETUP } from './waf-regression.js';

/**
 * One adversarial request: long runs that almost match the CRS regexes that backtrack
 * the most, then fail at the end.
 */
export interface AdversarialCase {
  name: string;
  method: string;
  uri: string;
  headers: Array<[string, string]>;
  body: Buffer | undefined;
}

function form(value: string): Buffer {
  return Buffer.from('q=' + encodeURIComponent(value));
}

function post(name: string, value: string): AdversarialCase {
  const body = form(value);
  return {
    name,
    method: 'POST',
    uri: '/search',
    body,
    headers: [
      ['Content-Type', 'application/x-www-form-urlencoded'],
      ['Content-Length', String(body.length)],
    ],
  };
}

/** The cases, each `size` bytes (default 128 KiB) of argument value. */
export function adversarialCases(size = 128 * 1024): AdversarialCase[] {
  const fill = (unit: string): string => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  return [
    post('sql-comment-runs (942xxx)', fill("'/**/")),
    post('sql-quote-space-runs (942200/942370)', fill("' ") + 'x'),
    post('nested-parens (942190/942390)', fill('((')),
    post('xss-attr-runs (941xxx)', '<a ' + fill('a=a ')),
    post('shell-quote-runs (932xxx)', fill('\\\'"')),
    post('php-like-runs (933xxx)', fill('$a[')),
    post('word-space-runs', fill('select ')),
    post('digits-and-ops (942xxx)', fill('1=1 or ')),
    post('unicode-escapes (941xxx)', fill('\\u00')),
    post('semicolons (932100)', fill(';a ')),
  ];
}

const BROWSER_HEADERS: Array<[string, string]> = [
  ['Host', 'www.example.com'],
  ['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'],
  ['Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'],
  ['Accept-Language', 'en-US,en;q=0.5'],
  ['Accept-Encoding', 'gzip, deflate, br'],
  ['Connection', 'keep-alive'],
  ['Cookie', 'session=4f2a9c1e7b3d5a6f8e0c; theme=dark'],
  ['Upgrade-Insecure-Requests', '1'],
];

function load(rulesDir: string, setup: string, paranoia: number, linear: boolean, budget: number | undefined): RuleSet {
  const loaded = loadRules({
    files: [{ file: '<base-config>', text: BASE_CONFIG }, setup, `${rulesDir}/*.conf`],
    preamble: `SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=${paranoia}"`,
    // Adversarial bodies are 128 KiB of form data: let them through the no-files limit.
    requestBodyNoFilesLimit: 1024 * 1024,
    linearRegexFallback: linear,
    ...(budget === undefined ? {} : { inspectionBudgetMs: budget }),
  });
  if (!loaded.ok) throw new Error(loaded.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n'));
  return loaded.ruleSet;
}

function request(method: string, uri: string, extra: Array<[string, string]> = []): WafRequest {
  return { method, uri, protocol: 'HTTP/1.1', headers: [...BROWSER_HEADERS, ...extra], remoteAddress: '203.0.113.7', remotePort: 54321, serverPort: 443 };
}

/** CPU microseconds per call of `fn` in each of `rounds` rounds, after warm-up; sorted. */
function measure(fn: () => void, iterations: number, rounds: number): number[] {
  for (let i = 0; i < Math.min(2000, iterations); i++) fn();
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < iterations; i++) fn();
    const used = process.cpuUsage(start);
    out.push((used.user + used.system) / iterations);
  }
  return out.sort((a, b) => a - b);
}

function summary(rounds: number[]): string {
  const median = rounds[Math.floor(rounds.length / 2)] as number;
  return `${median.toFixed(1)} µs CPU per evaluation (median of ${rounds.length}; min ${(rounds[0] as number).toFixed(1)})`;
}

function formBody(variant: number): Buffer {
  const fields: string[] = [];
  for (let i = 0; i < 20; i++)
    fields.push(`field_${i}=${encodeURIComponent(`value number ${i + variant * 20} with some ordinary text, nothing odd here at all.`.padEnd(90, 'x'))}`);
  return Buffer.from(fields.join('&'));
}

/** Varied but clean traffic: 512 distinct URIs and 16 user agents, so caches see realistic churn. */
function cleanGets(): WafRequest[] {
  const out: WafRequest[] = [];
  for (let i = 0; i < 512; i++) {
    const r = request('GET', `/products/list.php?category=shoes${i % 37}&page=${i}&sort=price&ref=item${i * 7919}`);
    r.headers = r.headers.map(([k, v]) => (k === 'User-Agent' ? [k, v.replace('128.0', `${100 + (i % 16)}.0`)] : [k, v]));
    out.push(r);
  }
  return out;
}

function throughput(ruleSet: RuleSet, rounds: number): void {
  const gets = cleanGets();
  let n = 0;
  const getUs = measure(
    () => {
      const tx = ruleSet.begin(gets[n++ % gets.length] as WafRequest);
      tx.processHeaders();
      tx.processBody(undefined, false);
      if (tx.matches.length > 0) throw new Error(`clean GET matched ${tx.matches.map((m) => m.id).join(',')}`);
    },
    4000,
    rounds,
  );
  const bodies = Array.from({ length: 64 }, (_, k) => formBody(k));
  const body = bodies[0] as Buffer;
  const post = request('POST', '/account/profile', [
    ['Content-Type', 'application/x-www-form-urlencoded'],
    ['Content-Length', String(body.length)],
  ]);
  const postUs = measure(
    () => {
      const tx = ruleSet.begin(post);
      tx.processHeaders();
      tx.processBody(bodies[n++ % bodies.length] as Buffer, false);
      if (tx.matches.length > 0) throw new Error(`form POST matched ${tx.matches.map((m) => m.id).join(',')}`);
    },
    1000,
    rounds,
  );
  console.log(`clean GET (8 headers, 512 distinct URIs, 16 UAs), PL1: ${summary(getUs)}`);
  console.log(`POST ${body.length} B urlencoded form, 20 fields (64 variants), PL1: ${summary(postUs)}`);
}

/** 128 KiB of ordinary English words (SQL-ish ones included: select, from, or, and…). */
function benignText(size: number): string {
  const words = (
    'the quick brown fox jumps over the lazy dog and then we select a few items from the list or maybe ' +
    'not because it is late in the evening where people are tired of reading long texts about nothing in particular'
  ).split(' ');
  let text = '';
  for (let k = 0; text.length < size; k = (k * 7 + 3) % 1009) text += words[k % words.length] + (k % 17 === 16 ? '. ' : ' ');
  return text.slice(0, size);
}

/** A benign large form: wall time of its evaluation (best of three), and whether the budget refused it. */
function benignLarge(ruleSet: RuleSet, label: string): void {
  const body = Buffer.from('comment=' + encodeURIComponent(benignText(128 * 1024)) + '&submit=Send');
  let best = Infinity;
  let refused = false;
  for (let k = 0; k < 3; k++) {
    const started = performance.now();
    const tx = ruleSet.begin(
      request('POST', '/post', [
        ['Content-Type', 'application/x-www-form-urlencoded'],
        ['Content-Length', String(body.length)],
      ]),
    );
    tx.processHeaders();
    tx.processBody(body, false);
    best = Math.min(best, performance.now() - started);
    refused = tx.matches.some((m) => m.id === 0);
  }
  console.log(`benign ${body.length} B text form, ${label}: ${best.toFixed(1)} ms${refused ? '  (inspection budget exceeded: refused)' : ''}`);
}

function redos(ruleSet: RuleSet, size: number, linear: boolean): void {
  console.log(`ReDoS cases (${size} B values), PL4, V8 linear-engine fallback ${linear ? 'on' : 'off'}:`);
  let worst = 0;
  for (const c of adversarialCases(size)) {
    const started = performance.now();
    const tx = ruleSet.begin(request(c.method, c.uri, c.headers));
    tx.processHeaders();
    tx.processBody(c.body, false);
    const ms = performance.now() - started;
    worst = Math.max(worst, ms);
    console.log(`  ${c.name}: ${ms.toFixed(1)} ms${ms > 50 ? '  OVER 50 ms' : ''}`);
  }
  console.log(`worst adversarial evaluation: ${worst.toFixed(1)} ms (target ≤ 50 ms)`);
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const rulesDir = option(args, '--rules') ?? CRS_RULES;
  const setup = option(args, '--setup') ?? CRS_SETUP;
  const linear = !args.includes('--no-linear-fallback');
  const rounds = Number(option(args, '--rounds') ?? 7);
  const budgetText = option(args, '--budget');
  const budget = budgetText === undefined ? undefined : Number(budgetText);
  if (!args.includes('--redos-only')) {
    const pl1 = load(rulesDir, setup, 1, linear, budget);
    throughput(pl1, rounds);
    benignLarge(pl1, 'PL1');
  }
  if (!args.includes('--no-redos')) {
    const pl4 = load(rulesDir, setup, 4, linear, budget);
    benignLarge(pl4, 'PL4');
    redos(pl4, Number(option(args, '--redos-size') ?? 128 * 1024), linear);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
