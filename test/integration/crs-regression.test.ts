/**
 * The OWASP CRS 3.3.4's own regression suite (go-ftw YAML, `../shared/crs-3.3.4-regression`)
 * against a real node: every stage's request goes, byte for byte as ftw sends it, to the
 * node's proxy port over TCP; the node inspects it with the CRS configured as the CRS's CI
 * configured its engine (paranoia level 4, DetectionOnly, combined_file_sizes 65535, the
 * CRS's defaults otherwise); the stage's `log_contains` / `no_log_contains` rule ids are
 * checked against the node's own record of matches (its access line), and its status
 * against the node's answer. Tests that fail for a known reason are listed, each with its
 * reason, in test/unit/waf/crs-regression-expected-failures.txt.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CRS_TESTS, checkStage, readExpectedFailures, type Failure, type StageOutcome } from '../../scripts/waf-regression.js';
import { loadFtwTests } from '../../scripts/crs-ftw.js';
import { startInProcessNode, type InProcessNode } from '../helpers/in-process.js';
import { answerAfterBody, startUpstream, type TestUpstream } from '../helpers/upstream.js';

let upstream: TestUpstream;
let node: InProcessNode;

beforeAll(async () => {
  upstream = await startUpstream(answerAfterBody);
  // The CI's settings that crs-setup.conf leaves commented out (its image set them from its environment).
  const ci = join(mkdtempSync(join(tmpdir(), 'palisade-crs-')), 'ci.conf');
  writeFileSync(ci, 'SecAction "id:900350,phase:1,nolog,pass,t:none,setvar:tx.combined_file_sizes=65535"\n');
  node = await startInProcessNode({
    NODE_NAME: 'crs-regression',
    USE_MODSECURITY: 'yes',
    REVERSE_PROXY_HOST: upstream.url,
    MODSECURITY_PARANOIA_LEVEL: '4',
    MODSECURITY_SEC_RULE_ENGINE: 'DetectionOnly',
    MODSECURITY_RULES_BEFORE_CRS: ci,
    // The suite speaks as one client: nothing but the WAF may answer for it.
    USE_LIMIT_REQ: 'no',
    USE_BAD_BEHAVIOR: 'no',
    USE_ANTIBOT: 'no',
  });
}, 120_000);

afterAll(async () => {
  await node?.stop();
  await upstream?.close();
});

/**
 * Sends `raw` on a connection of its own, as ftw does (its write side left open: a client
 * that half-closes may be cut before its answer); resolves with the answer's status and
 * request id once the whole answer arrived or the connection closed (none when the node
 * answered nothing).
 */
function exchange(raw: Buffer): Promise<{ status: number | undefined; requestIds: string[] }> {
  return new Promise((resolve) => {
    const socket = connect(node.proxy.port, '127.0.0.1');
    let text = '';
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      // Every answer on the connection: a body longer than declared is a second request (smuggling tests).
      const requestIds = [...text.matchAll(/\r\nx-request-id: ([0-9a-f-]+)/gi)].map((m) => m[1]!);
      resolve({ status: status === undefined ? undefined : Number(status), requestIds });
    };
    // A request that never ends (a body shorter than declared) is answered by the node's
    // body timeout, or not at all; ftw itself gives up after a while: so does this.
    socket.setTimeout(2_000, done);
    // One whole request and nothing after it gets one answer: no need to wait for the connection to close.
    const single = isOneWholeRequest(raw);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      if (head === -1) return;
      // The whole answer, and nothing pipelined after the request that could get another.
      const answerHead = text.slice(0, head);
      const length = /\r\ncontent-length: (\d+)/i.exec(answerHead)?.[1];
      const whole =
        length !== undefined ? text.length >= head + 4 + Number(length) : /\r\ntransfer-encoding: chunked/i.test(answerHead) && text.endsWith('\r\n0\r\n\r\n');
      if (whole && (single || /\r\nconnection: close/i.test(answerHead))) done();
    });
    socket.on('close', done);
    socket.on('error', () => undefined);
    socket.write(raw);
  });
}

/**
 * True when `raw` is exactly one request whose length its head declares (no chunked body, no
 * bytes after it that could be a second request, no body shorter than declared): its one
 * answer is all the node will send.
 */
function isOneWholeRequest(raw: Buffer): boolean {
  const head = raw.indexOf('\r\n\r\n');
  if (head === -1) return false;
  const headText = raw.subarray(0, head).toString('latin1');
  if (/\r\ntransfer-encoding:/i.test(headText)) return false;
  const lengths = [...headText.matchAll(/\r\ncontent-length:[ \t]*([^\r]*)/gi)].map((m) => m[1]!.trim());
  if (lengths.length > 1 || (lengths.length === 1 && !/^\d+$/.test(lengths[0]!))) return false;
  return raw.length === head + 4 + Number(lengths[0] ?? 0);
}

/**
 * The rules the node says matched the requests of one exchange (their access lines, from
 * line `from` on), as log lines ftw's patterns match; undefined when the node logged no
 * request (it refused the bytes before any rule ran). A request may end after its answer
 * (the client left): its line is awaited until its requests are all logged.
 */
async function matchesSince(from: number, requestIds: string[]): Promise<string[] | undefined> {
  const logged = (): Array<Record<string, unknown>> => node.lines.slice(from).filter((l) => l.msg === 'request');
  for (let i = 0; i < 200 && (logged().length === 0 || !requestIds.every((id) => logged().some((l) => l.reqId === id))); i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const lines = logged();
  if (lines.length === 0) return undefined;
  return lines.flatMap((line) => ((line.waf as { rules?: number[] } | undefined)?.rules ?? []).map((id) => `[id "${id}"]`));
}

describe('the OWASP CRS 3.3.4 regression suite against a node', () => {
  it('passes at least 98 % of the tests, every other one listed with its reason', async () => {
    const tests = loadFtwTests(CRS_TESTS);
    expect(tests.length).toBeGreaterThan(2_300);
    const failures: Failure[] = [];
    for (const test of tests) {
      for (const stage of test.stages) {
        // One stage at a time: every access line written meanwhile is this exchange's.
        const from = node.lines.length;
        const answer = await exchange(stage.raw);
        const rules = await matchesSince(from, answer.requestIds);
        // A request refused before the WAF saw it: Node's parser or the edge checks (a 4xx, no rule record).
        const refusedByNode = answer.status !== undefined && answer.status >= 400 && answer.status < 500 && (rules === undefined || rules.length === 0);
        const outcome: StageOutcome = {
          refusedByNode,
          incomplete: answer.status === 408 || answer.status === undefined,
          logLines: rules ?? [],
          // What the node would answer in blocking mode: the CRS's blocking evaluation matched.
          blocked: (rules ?? []).includes('[id "949110"]'),
        };
        const problem = checkStage(stage, outcome);
        if (problem) {
          failures.push({ title: test.title, file: test.file, ...problem });
          break;
        }
      }
    }
    const expected = readExpectedFailures();
    const unexpected = failures.filter((f) => !expected.has(f.title));
    const passed = tests.length - failures.length;
    console.info(`measured: CRS 3.3.4 regression suite against a node: ${passed} of ${tests.length} passed (${((passed / tests.length) * 100).toFixed(2)} %)`);
    expect(unexpected.map((f) => `${f.title} ${f.category}: ${f.reason}`)).toEqual([]);
    expect(passed / tests.length).toBeGreaterThanOrEqual(0.98);
  }, 300_000);
});
