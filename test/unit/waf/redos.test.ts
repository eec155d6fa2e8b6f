/**
 * ReDoS defences, asserted through deterministic proxies (timings live in
 * scripts/waf-bench.ts): the linear-engine fallback is on, caseless patterns are
 * compiled so the linear engine can take them, every CRS regex but a known few can run
 * in linear time, and the inspection budget stops a heavy request.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { linearEngineCanRun, linearFallbackEnabled } from '../../../src/waf/regex/linear-fallback.js';
import { translatePcre } from '../../../src/waf/regex/translate.js';
import { lexConfig } from '../../../src/waf/seclang/lexer.js';
import { ids, load, post, run } from './waf-test-kit.js';

const CRS = '/usr/share/modsecurity-crs/rules';

describe('linear-time fallback', () => {
  it('is enabled once rules are loaded', () => {
    load('SecAction "id:1,phase:1,pass,nolog"');
    expect(linearFallbackEnabled()).toBe(true);
  });

  it('caseless patterns are spelled out, never compiled with the i flag', () => {
    const t = translatePcre('(?i)union\\s+select');
    expect('error' in t ? '' : t.flags).toBe('s');
  });

  it('an exponential pattern in a rule returns promptly', () => {
    const rs = load('SecRule ARGS "@rx ^(a+)+$" "id:1,phase:1,pass,log"');
    const { tx } = run(rs, {
      method: 'GET',
      uri: '/?x=' + 'a'.repeat(40) + 'b',
      protocol: 'HTTP/1.1',
      headers: [],
      remoteAddress: '::1',
      remotePort: 1,
      serverPort: 80,
    });
    expect(ids(tx)).toEqual([]);
  });

  it('every CRS request regex runs in linear time except a known few', () => {
    expect(existsSync(CRS), `${CRS}: apt-get install modsecurity-crs (npm test does)`).toBe(true);
    v8.setFlagsFromString('--enable-experimental-regexp-engine');
    const notLinear: string[] = [];
    for (const file of readdirSync(CRS).filter((f) => f.startsWith('REQUEST-') && f.endsWith('.conf'))) {
      const { directives } = lexConfig(readFileSync(`${CRS}/${file}`, 'latin1'), file);
      for (const d of directives) {
        const m = d.name === 'SecRule' ? /^!?@rx\s+([\s\S]*)$/.exec(d.args[1] ?? '') : null;
        if (!m) continue;
        const t = translatePcre(m[1] as string);
        if ('error' in t) continue;
        try {
          new RegExp(t.source, t.flags + 'l');
        } catch {
          notLinear.push(/id:(\d+)/.exec(d.args[2] ?? '')?.[1] ?? `${file}:${d.line}`);
          expect(linearEngineCanRun(t.source) && !/\{\d+(,\d*)?\}/.test(t.source)).toBe(false);
        }
      }
    }
    // Back-references, lookarounds or large counted repeats: these keep backtracking.
    expect(notLinear.sort()).toEqual(
      ['REQUEST-920-PROTOCOL-ENFORCEMENT.conf:1263', '920120', '920600', '942130', '942200', '942260', '942380', '942390', '942480', '942510', '942511'].sort(),
    );
  });
});

describe('inspection budget', () => {
  // No literal the prefilter could use: every rule really scans the value.
  const rules = Array.from({ length: 40 }, (_, k) => `SecRule ARGS "@rx (?:a|ab)*[c-e]{${k + 1}}" "id:${k + 1},phase:2,pass,log"`).join('\n');
  const value = 'ab'.repeat(50_000);

  it('refuses a heavy request once the budget is used up (On mode)', () => {
    const rs = load('SecRequestBodyAccess On\n' + rules, { inspectionBudgetMs: 1, requestBodyNoFilesLimit: 1 << 20 });
    const { tx, interruption } = run(rs, ...post('/', 'application/x-www-form-urlencoded', `q=${value}`));
    expect(interruption).toEqual({ status: 403, ruleId: 0, action: 'deny' });
    expect(tx.matches.at(-1)?.msg).toMatch(/budget exceeded/);
  });

  it('only reports it in DetectionOnly, and never times light requests', () => {
    const rs = load('SecRequestBodyAccess On\n' + rules, { inspectionBudgetMs: 1, requestBodyNoFilesLimit: 1 << 20, engineMode: 'DetectionOnly' });
    const heavy = run(rs, ...post('/', 'application/x-www-form-urlencoded', `q=${value}`));
    expect(heavy.interruption).toBeUndefined();
    expect(ids(heavy.tx)).toContain(0);
    const light = run(rs, ...post('/', 'application/x-www-form-urlencoded', 'q=cc'));
    expect(ids(light.tx)).toEqual([1, 2]);
  });

  it('is a hard deadline: it cuts off a single regex execution the linear engine cannot take', () => {
    // A back-reference keeps V8 backtracking: on 30 a's this one execution takes many seconds.
    const rs = load('SecRequestBodyAccess On\nSecRule ARGS:q "@rx ^(a+)+\\1x$" "id:1,phase:2,pass,log"', { inspectionBudgetMs: 50 });
    const started = performance.now();
    const { tx, interruption } = run(rs, ...post('/', 'application/x-www-form-urlencoded', `q=${'a'.repeat(30)}b&pad=${'x'.repeat(5000)}`));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(interruption).toEqual({ status: 403, ruleId: 0, action: 'deny' });
    expect(ids(tx)).toEqual([0]);
    // The engine is still usable, and its shared caches intact, afterwards.
    expect(ids(run(rs, ...post('/', 'application/x-www-form-urlencoded', 'q=aaxx')).tx)).toEqual([]);
    expect(ids(run(rs, ...post('/', 'application/x-www-form-urlencoded', 'q=aaaax')).tx)).toEqual([1]);
  });

  it("counts the engine's time, not the wait for the body", () => {
    // The budget is wall time: generous enough for phase 2 on a loaded machine (it takes well
    // under a millisecond), shorter than the client's wait.
    const rs = load('SecRequestBodyAccess On\nSecRule ARGS "@rx attack" "id:1,phase:2,pass,log"', { inspectionBudgetMs: 300 });
    const [request, body] = post('/', 'application/x-www-form-urlencoded', `q=${'x'.repeat(8000)}`);
    const tx = rs.begin(request);
    tx.processHeaders();
    // The client takes its time sending the body (a blocking wait, as the engine sees it).
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    expect(tx.processBody(Buffer.from(body, 'latin1'), false)).toBeUndefined();
    expect(ids(tx)).toEqual([]);
  });
});
