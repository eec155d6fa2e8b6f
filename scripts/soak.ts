/**
 * `npm run test:soak -- [runs] [--busy] [--from <git ref>] [--write-durations]`: the whole
 * suite, `runs` times (3 by default), on a fresh clone of the committed tree — as CI sees it,
 * nothing installed by hand, nothing uncommitted — then which tests failed in which run, and
 * how long each run took. `--busy` keeps one core busy with a CPU-bound loop for the whole
 * soak, as a loaded CI machine would. The tool to find the next flaky test: a test that fails
 * once in N runs is named with the run it failed in. `--write-durations` writes the median
 * time of each file over the green runs to `test/file-durations.json`, the table the suite
 * orders its files by (longest first).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/paths.js';
import { DURATIONS_FILE, readFileDurations } from './file-durations.js';

interface Options {
  runs: number;
  busy: boolean;
  ref: string;
  writeDurations: boolean;
}

/** One test's result in vitest's JSON report. */
interface AssertionResult {
  fullName: string;
  status: string;
  failureMessages?: string[];
}

interface RunResult {
  run: number;
  code: number | null;
  seconds: number;
  passed: number;
  failed: Array<{ file: string; name: string; message: string }>;
  /** Seconds per test file, relative to the clone's root. */
  durations: Map<string, number>;
}

function parseOptions(args: string[]): Options {
  const options: Options = { runs: 3, busy: false, ref: 'HEAD', writeDurations: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--busy') options.busy = true;
    else if (arg === '--write-durations') options.writeDurations = true;
    else if (arg === '--from') options.ref = args[++i] ?? fail('--from needs a git ref');
    else if (/^\d+$/.test(arg) && Number(arg) >= 1) options.runs = Number(arg);
    else fail(`unknown argument ${JSON.stringify(arg)}: test:soak [runs] [--busy] [--from <git ref>] [--write-durations]`);
  }
  return options;
}

function fail(message: string): never {
  process.stderr.write(`test:soak: ${message}\n`);
  process.exit(2);
}

/** A fresh clone of `ref` of this repository, as CI makes one. */
function freshClone(ref: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'palisade-soak-')), 'palisade');
  const clone = spawnSync('git', ['clone', '--quiet', '--no-hardlinks', packageRoot, dir], { stdio: 'inherit' });
  if (clone.status !== 0) fail('git clone failed');
  const checkout = spawnSync('git', ['-C', dir, 'checkout', '--quiet', ref], { stdio: 'inherit' });
  if (checkout.status !== 0) fail(`git checkout ${ref} failed`);
  return dir;
}

/** A process that keeps one core busy until killed. */
function busyLoop(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

/** Runs `npm test` in `dir`, its output streamed through, and reads its JSON report. */
function runSuite(dir: string, run: number): Promise<RunResult> {
  const report = join(tmpdir(), `palisade-soak-report-${process.pid}-${run}.json`);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['test'], { cwd: dir, stdio: 'inherit', env: { ...process.env, PALISADE_TEST_REPORT: report } });
    child.on('exit', (code) => {
      const seconds = (Date.now() - started) / 1000;
      const failed: RunResult['failed'] = [];
      const durations = new Map<string, number>();
      let passed = 0;
      try {
        const json = JSON.parse(readFileSync(report, 'utf8')) as {
          numPassedTests: number;
          testResults: Array<{ name: string; message?: string; startTime: number; endTime: number; assertionResults: AssertionResult[] }>;
        };
        passed = json.numPassedTests;
        for (const file of json.testResults) {
          const name = file.name.replace(`${dir}/`, '');
          durations.set(name, (file.endTime - file.startTime) / 1000);
          for (const test of file.assertionResults) {
            if (test.status === 'failed') failed.push({ file: name, name: test.fullName, message: firstLine(test.failureMessages?.[0]) });
          }
          // A file that failed outside any test (a hook, an import).
          if (file.assertionResults.every((t) => t.status !== 'failed') && file.message)
            failed.push({ file: name, name: '(the file itself)', message: firstLine(file.message) });
        }
      } catch {
        failed.push({ file: '-', name: '(no report: the suite did not run to the end)', message: `npm test exited with ${code}` });
      }
      rmSync(report, { force: true });
      resolve({ run, code, seconds, passed, failed, durations });
    });
  });
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0]!.slice(0, 200);
}

/** `4 min 59 s`: whole seconds first, so 299.6 s reads 5 min 0 s, never 4 min 60 s. */
function minutes(seconds: number): string {
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

/** The median seconds of each file over the green runs, longest first, into the table the suite orders files by. */
function writeDurations(results: RunResult[]): void {
  const green = results.filter((r) => r.code === 0 && r.failed.length === 0);
  if (green.length === 0) {
    process.stdout.write(`not written: ${DURATIONS_FILE} (no green run)\n`);
    return;
  }
  const samples = new Map<string, number[]>();
  for (const r of green) for (const [file, s] of r.durations) samples.set(file, [...(samples.get(file) ?? []), s]);
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rows = [...samples].map(([file, xs]) => [file, Math.round(median(xs) * 10) / 10] as const);
  rows.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const table = { about: readFileDurations().about, seconds: Object.fromEntries(rows) };
  writeFileSync(DURATIONS_FILE, JSON.stringify(table, null, 2) + '\n');
  process.stdout.write(`written: ${DURATIONS_FILE} (median of ${green.length} green run(s))\n`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dir = freshClone(options.ref);
  const busy = options.busy ? busyLoop() : undefined;
  const results: RunResult[] = [];
  try {
    for (let run = 1; run <= options.runs; run++) {
      process.stdout.write(`\n=== test:soak run ${run} of ${options.runs}${options.busy ? ' (one core kept busy)' : ''} in ${dir}\n`);
      results.push(await runSuite(dir, run));
    }
  } finally {
    busy?.kill('SIGKILL');
  }
  process.stdout.write(`\n=== test:soak: ${options.runs} run(s) of ${options.ref} on a fresh clone${options.busy ? ', one core kept busy' : ''}\n`);
  for (const r of results) {
    process.stdout.write(
      `run ${r.run}: ${r.failed.length === 0 && r.code === 0 ? 'green' : 'RED'}, ${r.passed} passed, ${r.failed.length} failed, ${minutes(r.seconds)}\n`,
    );
  }
  const byTest = new Map<string, number[]>();
  for (const r of results) for (const f of r.failed) byTest.set(`${f.file} > ${f.name}`, [...(byTest.get(`${f.file} > ${f.name}`) ?? []), r.run]);
  if (byTest.size > 0) {
    process.stdout.write('failed tests, with the runs they failed in:\n');
    for (const [test, runs] of byTest) process.stdout.write(`  ${test}: run ${runs.join(', ')}\n`);
    for (const r of results) for (const f of r.failed) process.stdout.write(`  run ${r.run}: ${f.name}: ${f.message}\n`);
  }
  if (options.writeDurations) writeDurations(results);
  rmSync(join(dir, '..'), { recursive: true, force: true });
  process.exit(results.every((r) => r.code === 0 && r.failed.length === 0) ? 0 : 1);
}

void main();
