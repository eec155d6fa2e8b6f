/**
 * Reads CRS regression tests (ftw / go-ftw YAML) and turns each stage into the raw
 * request bytes ftw would send, plus what the stage expects. Request building follows
 * ftw's "magic": unless `stop_magic` is set, a stage with data gets
 * `Content-Type: application/x-www-form-urlencoded` (when it has no Content-Type) and
 * `Content-Length` (when it has none), and every stage gets `Connection: close` (when
 * it has no Connection header). `encoded_request` is base64 of the exact bytes,
 * `raw_request` is sent verbatim as UTF-8 text.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';

/** One stage: the bytes to send and the expectations. */
export interface FtwStage {
  raw: Buffer;
  /** Regex (as ftw uses it) that some log line must match. */
  logContains: string | undefined;
  /** Regex that no log line may match. */
  noLogContains: string | undefined;
  /** Acceptable response statuses, when the stage checks the status. */
  status: number[] | undefined;
  /** The stage expects the exchange to fail (e.g. a request the server cannot answer normally). */
  expectError: boolean;
}

/** One test with its stages. */
export interface FtwTest {
  title: string;
  /** YAML file, relative to the test directory. */
  file: string;
  stages: FtwStage[];
}

type Json = Record<string, unknown>;

function asRecord(v: unknown): Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}

function text(v: unknown, fallback: string): string {
  if (v === undefined || v === null) return fallback;
  return String(v);
}

/** Builds the request bytes for one stage input. */
export function buildRequest(input: Json): Buffer {
  if (typeof input.encoded_request === 'string') return Buffer.from(input.encoded_request, 'base64');
  // ftw writes raw_request as UTF-8 text (a YAML "\xac" is sent as C2 AC); encoded_request is exact bytes.
  if (typeof input.raw_request === 'string') return Buffer.from(input.raw_request, 'utf8');
  const method = text(input.method, 'GET');
  const uri = text(input.uri, '/');
  const version = text(input.version, 'HTTP/1.1');
  const stopMagic = input.stop_magic === true;
  const headers = Object.entries(asRecord(input.headers)).map(([k, v]) => [k, text(v, '')] as [string, string]);
  let data: Buffer | undefined;
  if (Array.isArray(input.data)) data = Buffer.from(input.data.map((l) => text(l, '')).join('\r\n') + '\r\n', 'utf8');
  else if (input.data !== undefined && input.data !== null) data = Buffer.from(text(input.data, ''), 'utf8');
  const has = (name: string): boolean => headers.some(([k]) => k.toLowerCase() === name);
  if (!stopMagic) {
    if (data !== undefined && data.length > 0 && !has('content-type')) headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
    if (data !== undefined && !has('content-length')) headers.push(['Content-Length', String(data.length)]);
    if (!has('connection')) headers.push(['Connection', 'close']);
  }
  const head = `${method} ${uri} ${version}\r\n` + headers.map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
  return Buffer.concat([Buffer.from(head, 'utf8'), data ?? Buffer.alloc(0)]);
}

function statuses(v: unknown): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  return (Array.isArray(v) ? v : [v]).map((s) => Number(s));
}

function stageOf(raw: unknown): FtwStage {
  const s = asRecord(raw);
  const body = 'stage' in s ? asRecord(s.stage) : s;
  const input = asRecord(body.input);
  const output = asRecord(body.output);
  return {
    raw: buildRequest(input),
    logContains: typeof output.log_contains === 'string' ? output.log_contains : undefined,
    noLogContains: typeof output.no_log_contains === 'string' ? output.no_log_contains : undefined,
    status: statuses(output.status),
    expectError: output.expect_error === true,
  };
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...yamlFiles(path));
    else if (/\.ya?ml$/.test(name)) out.push(path);
  }
  return out;
}

/** Loads every enabled test under `dir` (recursively), in file order. */
export function loadFtwTests(dir: string): FtwTest[] {
  const tests: FtwTest[] = [];
  for (const path of yamlFiles(dir)) {
    const doc = asRecord(parse(readFileSync(path, 'utf8')));
    if (asRecord(doc.meta).enabled === false) continue;
    for (const t of Array.isArray(doc.tests) ? doc.tests : []) {
      const test = asRecord(t);
      const stages = Array.isArray(test.stages) ? test.stages.map(stageOf) : [];
      tests.push({ title: text(test.test_title ?? test.test_id, '?'), file: relative(dir, path), stages });
    }
  }
  return tests;
}
