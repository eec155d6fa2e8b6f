/**
 * CRS 3.3.4 regression runner for the WAF engine, configured as the CRS's own CI was
 * at v3.3.4 (the owasp/modsecurity-crs:apache image with PARANOIA=4,
 * MODSEC_RULE_ENGINE=DetectionOnly, COMBINED_FILE_SIZES=65535; everything else at the
 * CRS defaults) plus the engine's base configuration (body processors and limits as in
 * ModSecurity's recommended configuration).
 *
 * Each stage's raw request goes through Node's own HTTP parser (a server on loopback),
 * so requests Node would refuse with 400 are recognised as such; accepted requests
 * are evaluated in process. `log_contains` / `no_log_contains` are matched against one
 * log line per rule match: `[id "942100"] [msg "…"] [data "…"]`.
 *
 * Usage: node dist/scripts/waf-regression.js [--tests DIR] [--write-expected] [--verbose]
 * Exits non-zero when a test outside test/unit/waf/crs-regression-expected-failures.txt fails.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BASE_CONFIG, loadRules, type RuleSet, type WafRequest } from '../src/waf/index.js';
import { loadFtwTests, type FtwStage, type FtwTest } from './crs-ftw.js';

/** Where the Debian package puts the CRS, and where the shared tests live. */
export const CRS_RULES = '/usr/share/modsecurity-crs/rules';
export const CRS_SETUP = '/etc/modsecurity/crs/crs-setup.conf';
/** The shared test corpus: $WAF_CRS_TESTS, else `shared/` beside the checkout, else /work/shared. */
export const CRS_TESTS =
  [
    process.env.WAF_CRS_TESTS,
    resolve(import.meta.dirname ?? '.', '../../shared/crs-3.3.4-regression'),
    resolve(import.meta.dirname ?? '.', '../../../shared/crs-3.3.4-regression'),
    '/work/shared/crs-3.3.4-regression',
  ].find((p): p is string => p !== undefined && existsSync(p)) ?? '/work/shared/crs-3.3.4-regression';
const EXPECTED_NAME = 'test/unit/waf/crs-regression-expected-failures.txt';
/** The expected-failures file, found from the source tree, dist/, or the working directory. */
export const EXPECTED_FAILURES =
  [resolve(import.meta.dirname ?? '.', '..', EXPECTED_NAME), resolve(import.meta.dirname ?? '.', '../..', EXPECTED_NAME), resolve(EXPECTED_NAME)].find((p) =>
    existsSync(p),
  ) ?? resolve(EXPECTED_NAME);

/** The CI's settings (crs-setup SecActions the docker image enabled from its environment). */
export const CI_PREAMBLE = `
SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level=4"
SecAction "id:900350,phase:1,nolog,pass,t:none,setvar:tx.combined_file_sizes=65535"
`;

/** Loads the CRS as configured for the regression run. */
export function loadCrsForRegression(rulesDir = CRS_RULES, setup = CRS_SETUP): RuleSet {
  const setupDir = resolve(setup, '..');
  const files = [{ file: '<base-config>', text: BASE_CONFIG }, setup];
  const before = resolve(setupDir, 'REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf');
  const after = resolve(setupDir, 'RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf');
  const loaded = loadRules({
    files: [...files, ...(existsSync(before) ? [before] : []), `${rulesDir}/*.conf`, ...(existsSync(after) ? [after] : [])],
    preamble: CI_PREAMBLE,
    engineMode: 'DetectionOnly',
  });
  if (!loaded.ok) throw new Error('CRS failed to load:\n' + loaded.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n'));
  return loaded.ruleSet;
}

/** Outcome of one stage as seen by a runner. */
export interface StageOutcome {
  refusedByNode: boolean;
  /** The client closed before sending the whole declared body (a real client would time out). */
  incomplete?: boolean;
  logLines: string[];
  blocked: boolean;
}

/** A failing test and why. */
export interface Failure {
  title: string;
  file: string;
  category: string;
  reason: string;
}

class StageServer {
  private server: Server;
  /** Waiting stages by the client's local port, so a late answer never settles another stage. */
  private readonly pending = new Map<number, (o: StageOutcome) => void>();
  /** Client ports whose first request reached the handler: a later pipelined error is not theirs. */
  private readonly reached = new Set<number>();
  port = 0;

  constructor(private readonly ruleSet: RuleSet) {
    this.server = createServer((req, res) => {
      const port = req.socket.remotePort ?? 0;
      this.reached.add(port);
      this.handle(req).then(
        (outcome) => {
          res.writeHead(outcome.blocked ? 403 : 200, { connection: 'close' }).end();
          this.settle(port, outcome);
        },
        (e: unknown) => {
          res.writeHead(500).end();
          this.settle(port, { refusedByNode: false, logLines: [`engine error: ${String(e)}`], blocked: false });
        },
      );
    });
    // Node hands CONNECT requests to 'connect' instead of the request handler.
    this.server.on('connect', (req: IncomingMessage, socket: Socket) => {
      const port = socket.remotePort ?? 0;
      this.handle(req).then(
        (outcome) => {
          socket.end(`HTTP/1.1 ${outcome.blocked ? 403 : 200} X\r\nConnection: close\r\n\r\n`);
          this.settle(port, outcome);
        },
        () => socket.destroy(),
      );
    });
    this.server.on('clientError', (_err, socket: Socket) => {
      const port = socket.remotePort ?? 0;
      if (this.reached.has(port)) return void socket.destroy();
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      this.settle(port, { refusedByNode: true, logLines: [], blocked: false });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }

  private settle(port: number, o: StageOutcome): void {
    const p = this.pending.get(port);
    this.pending.delete(port);
    p?.(o);
  }

  private async handle(req: IncomingMessage): Promise<StageOutcome> {
    const headers: Array<[string, string]> = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string]);
    const request: WafRequest = {
      method: req.method ?? 'GET',
      uri: req.url ?? '/',
      protocol: `HTTP/${req.httpVersion}`,
      headers,
      remoteAddress: req.socket.remoteAddress ?? '127.0.0.1',
      remotePort: req.socket.remotePort ?? 0,
      serverPort: 80,
    };
    const tx = this.ruleSet.begin(request);
    tx.processHeaders();
    const chunks: Buffer[] = [];
    await new Promise<void>((done) => {
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', done);
      req.on('close', done);
      req.on('error', () => done());
    });
    tx.processBody(tx.wantsBody ? Buffer.concat(chunks) : undefined, false);
    const logLines = tx.matches.map((m) => `[file "${m.file}"] [line "${m.line}"] [id "${m.id}"] [msg "${m.msg}"] [data "${m.data}"]`);
    return { refusedByNode: false, incomplete: !req.complete, logLines, blocked: tx.matches.some((m) => m.id === 949110) };
  }

  /** Sends `raw` and resolves with what happened. */
  send(raw: Buffer): Promise<StageOutcome> {
    return new Promise((resolveStage) => {
      let port = 0;
      const timer = setTimeout(() => {
        this.settle(port, { refusedByNode: false, logLines: ['timeout'], blocked: false });
        socket.destroy();
      }, 2000);
      const socket = connect(this.port, '127.0.0.1', () => {
        port = socket.localPort ?? 0;
        this.pending.set(port, (o) => {
          clearTimeout(timer);
          resolveStage(o);
        });
        socket.end(raw);
      });
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
    });
  }
}

/** What is wrong with one stage's outcome (by ftw's rules), if anything. */
export function checkStage(stage: FtwStage, o: StageOutcome): { category: string; reason: string } | undefined {
  if (o.refusedByNode) {
    if (stage.expectError || stage.status?.includes(400)) return undefined;
    if (stage.logContains !== undefined) return { category: 'node-refuses', reason: "Node's HTTP parser answers 400 before the WAF sees the request" };
    return undefined;
  }
  if (stage.expectError && o.incomplete) return undefined;
  if (stage.expectError) return { category: 'expect-error', reason: 'ftw expected a broken exchange; Node accepted the request' };
  if (stage.logContains !== undefined) {
    const re = new RegExp(stage.logContains);
    if (!o.logLines.some((l) => re.test(l))) return { category: 'false-negative', reason: `no log line matches /${stage.logContains}/` };
  }
  if (stage.noLogContains !== undefined) {
    const re = new RegExp(stage.noLogContains);
    const hit = o.logLines.find((l) => re.test(l));
    if (hit) return { category: 'false-positive', reason: `a log line matches /${stage.noLogContains}/` };
  }
  if (stage.status && stage.logContains === undefined && stage.noLogContains === undefined) {
    const status = o.blocked ? 403 : 200;
    if (!stage.status.includes(status)) return { category: 'status', reason: `status ${status}, expected ${stage.status.join('/')}` };
  }
  return undefined;
}

/** Runs every test; returns the failures and the number of tests. */
export async function runCrsRegression(ruleSet: RuleSet, tests: FtwTest[]): Promise<{ total: number; failures: Failure[] }> {
  const server = new StageServer(ruleSet);
  await server.start();
  const failures: Failure[] = [];
  try {
    for (const test of tests) {
      for (const stage of test.stages) {
        const outcome = await server.send(stage.raw);
        const problem = checkStage(stage, outcome);
        if (problem) {
          failures.push({ title: test.title, file: test.file, ...problem });
          break;
        }
      }
    }
  } finally {
    await server.stop();
  }
  return { total: tests.length, failures };
}

/** Reads the expected-failures file: title → category. */
export function readExpectedFailures(path = EXPECTED_FAILURES): Map<string, string> {
  const map = new Map<string, string>();
  if (!existsSync(path)) return map;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [title, category] = line.split('\t');
    if (title) map.set(title, category ?? '');
  }
  return map;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dirIndex = args.indexOf('--tests');
  const dir = dirIndex >= 0 ? (args[dirIndex + 1] as string) : CRS_TESTS;
  const ruleSet = loadCrsForRegression();
  const tests = loadFtwTests(dir);
  const started = performance.now();
  const { total, failures } = await runCrsRegression(ruleSet, tests);
  const passed = total - failures.length;
  console.log(`CRS regression: ${passed}/${total} passed (${((passed / total) * 100).toFixed(2)} %) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const byCategory = new Map<string, number>();
  for (const f of failures) byCategory.set(f.category, (byCategory.get(f.category) ?? 0) + 1);
  for (const [c, n] of byCategory) console.log(`  ${c}: ${n}`);
  const expected = readExpectedFailures();
  const unexpected = failures.filter((f) => !expected.has(f.title));
  if (args.includes('--verbose')) for (const f of failures) console.log(`${f.title}\t${f.category}\t${f.reason}`);
  if (args.includes('--write-expected')) {
    const lines = failures.map((f) => `${f.title}\t${expected.get(f.title) || f.category}\t${f.reason}`);
    writeFileSync(EXPECTED_FAILURES, lines.join('\n') + '\n');
    console.log(`wrote ${lines.length} lines to ${EXPECTED_FAILURES}`);
    return;
  }
  const fixed = [...expected.keys()].filter((t) => !failures.some((f) => f.title === t));
  if (fixed.length > 0) console.log(`now passing (remove from the expected-failures file): ${fixed.join(', ')}`);
  if (unexpected.length > 0) {
    for (const f of unexpected) console.log(`UNEXPECTED ${f.title}\t${f.category}\t${f.reason}`);
    console.log(`${passed} passed, ${failures.length} failed`);
    process.exitCode = 1;
    return;
  }
  console.log(`${passed} passed, ${failures.length} failed`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
