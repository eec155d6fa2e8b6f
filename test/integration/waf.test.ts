import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startPalisade, type PalisadeProcess } from '../helpers/palisade.js';
import { stopAfterEach } from '../helpers/stop-after-each.js';
import { answerAfterBody, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';
import { sendUntilBothWorkers } from '../helpers/worker-requests.js';

/**
 * The WAF through the proxy port: the OWASP CRS (Debian's modsecurity-crs) at the default
 * paranoia level 1 refuses attacks wherever the request carries them, lets clean requests
 * through, names the rules on the access line; detect mode, exclusions, body limits and
 * broken rule files as an operator meets them.
 */
let upstream: TestUpstream;
const nodes = stopAfterEach<PalisadeProcess>();

beforeAll(async () => {
  upstream = await startUpstream(answerAfterBody);
});
afterAll(async () => {
  await upstream.close();
});

async function node(env: Record<string, string> = {}): Promise<PalisadeProcess> {
  const started = await startPalisade({
    REVERSE_PROXY_HOST: upstream.url,
    USE_MODSECURITY: 'yes',
    WORKERS: '0',
    USE_BAD_BEHAVIOR: 'no',
    USE_LIMIT_REQ: 'no',
    DENY_HTTP_STATUS: '451',
    ...env,
  });
  nodes.push(started);
  return started;
}

/** A request through the proxy with a browser's headers; resolves with the status and the access line. */
async function send(palisade: PalisadeProcess, path: string, init: RequestInit = {}): Promise<{ status: number; line: Record<string, unknown> }> {
  const response = await fetch(`${palisade.proxyUrl}${path}`, {
    ...init,
    headers: {
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
      accept: 'text/html,application/xhtml+xml',
      'accept-language': 'en',
      host: 'shop.example',
      ...(init.headers as Record<string, string>),
    },
  });
  await response.arrayBuffer();
  const id = response.headers.get('x-request-id');
  const line = await waitFor(() => palisade.logs.find((l) => l.msg === 'request' && l.reqId === id), 'the access line');
  return { status: response.status, line };
}

const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  body: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});

describe('the WAF (OWASP CRS, paranoia level 1)', () => {
  it('refuses attacks wherever the request carries them, never forwards them, and names the rules on the access line', async () => {
    const palisade = await node();
    const before = upstream.seen.length;
    const attacks: Array<[string, string, RequestInit?]> = [
      ['SQL injection in the query', `/products?id=${encodeURIComponent("1' OR '1'='1")}`],
      ['XSS in a form', '/comment', form({ text: '<script>alert(document.cookie)</script>' })],
      [
        'command injection in JSON',
        '/api',
        { method: 'POST', body: JSON.stringify({ host: '127.0.0.1; cat /etc/passwd' }), headers: { 'content-type': 'application/json' } },
      ],
      ['path traversal', '/download?file=../../../../etc/passwd'],
      [
        'SQL injection in XML',
        '/soap',
        { method: 'POST', body: '<q><id>1 UNION SELECT password FROM users--</id></q>', headers: { 'content-type': 'application/xml' } },
      ],
      ['a scanner', '/', { headers: { 'user-agent': 'sqlmap/1.7.2#stable (https://sqlmap.org)' } }],
      ['PHP injection in a cookie', '/', { headers: { cookie: 'pref=<?php system($_GET["c"]); ?>' } }],
    ];
    for (const [what, path, init] of attacks) {
      const { status, line } = await send(palisade, path, init);
      expect(status, what).toBe(451);
      expect(line, what).toMatchObject({ verdict: 'deny', reason: 'modsecurity', code: 'PAL_DENIED' });
      expect((line.waf as { rules: number[]; score: number }).rules, what).toContain(949110);
      expect((line.waf as { score: number }).score, what).toBeGreaterThanOrEqual(5);
    }
    expect(upstream.seen.length).toBe(before);
    const clean = await send(palisade, '/products?id=42&sort=price');
    expect(clean.status).toBe(200);
    expect(clean.line.verdict).toBe('pass');
    const post = await send(palisade, '/contact', form({ name: "O'Reilly", email: 'ann@example.com', message: 'Hello, how are you?' }));
    expect(post.status).toBe(200);
    // At start it said what it loaded, and what it left out with the file and line.
    expect(palisade.logs.find((l) => l.msg === 'WAF rules loaded')).toMatchObject({
      crs: '/usr/share/modsecurity-crs/rules',
      paranoia: 1,
      mode: 'On',
      refused: 2,
    });
    expect(palisade.logs.filter((l) => String(l.msg).startsWith('WAF rule left out')).map((l) => l.rule)).toEqual([
      expect.stringMatching(/REQUEST-910-IP-REPUTATION\.conf:\d+$/),
      expect.stringMatching(/REQUEST-910-IP-REPUTATION\.conf:\d+$/),
    ]);
  });

  it('in detect mode lets the attacks through, naming the rules that would have refused them', async () => {
    const palisade = await node({ SECURITY_MODE: 'detect' });
    const { status, line } = await send(palisade, `/products?id=${encodeURIComponent("1' OR '1'='1")}`);
    expect(status).toBe(200);
    expect(line).toMatchObject({ verdict: 'detect:deny', reason: 'modsecurity' });
    expect((line.waf as { rules: number[] }).rules).toEqual(expect.arrayContaining([942100, 949110]));
  });

  it('takes exclusions from a file after the CRS (SecRuleRemoveById): the rule no longer matches', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-waf-'));
    writeFileSync(join(dir, 'exclusions.conf'), '# libinjection finds the same thing: trust rule 942100 less here\nSecRuleRemoveById 942100\n');
    const palisade = await node({ MODSECURITY_RULES_AFTER_CRS: join(dir, '*.conf'), SECURITY_MODE: 'detect' });
    const { line } = await send(palisade, `/products?id=${encodeURIComponent("1' OR '1'='1")}`);
    expect((line.waf as { rules: number[] }).rules).not.toContain(942100);
  });

  it('refuses a body past MODSECURITY_REQUEST_BODY_LIMIT with 413, or inspects its first part with partial', async () => {
    const big = form({ a: 'x'.repeat(3_000), b: "1' OR '1'='1" });
    // The CRS allows the bodies it parses; an operator allows binary uploads as the CRS says (rule 900220, before the CRS).
    const dir = mkdtempSync(join(tmpdir(), 'palisade-waf-'));
    writeFileSync(
      join(dir, 'types.conf'),
      `SecAction "id:900220,phase:1,nolog,pass,t:none,setvar:'tx.allowed_request_content_type=|application/x-www-form-urlencoded| |multipart/form-data| |application/json| |application/octet-stream|'"\n`,
    );
    const strict = await node({ MODSECURITY_REQUEST_BODY_LIMIT: '2k', MODSECURITY_RULES_BEFORE_CRS: join(dir, 'types.conf') });
    expect((await send(strict, '/upload', big)).status).toBe(413);
    // A binary body is not the WAF's to parse: it streams through whatever its size.
    expect(
      (await send(strict, '/upload', { method: 'POST', body: Buffer.alloc(100_000, 7), headers: { 'content-type': 'application/octet-stream' } })).status,
    ).toBe(200);
    const partial = await node({ MODSECURITY_REQUEST_BODY_LIMIT: '2k', MODSECURITY_REQUEST_BODY_LIMIT_ACTION: 'partial' });
    // The attack is past the part inspected: it goes through, whole (the upstream got every byte).
    expect((await send(partial, '/upload', big)).status).toBe(200);
    expect((await send(partial, '/upload', form({ b: "1' OR '1'='1", a: 'x'.repeat(3_000) }))).status).toBe(451);
  });

  it('runs in every worker (WORKERS=2)', async () => {
    const palisade = await node({ WORKERS: '2' });
    // A connection per attack (the workers take them from one shared socket), until both answered.
    const path = `/?q=${encodeURIComponent('<script>alert(1)</script>')}`;
    const headers = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', accept: 'text/html', 'accept-language': 'en', host: 'shop.example' };
    const statuses = await sendUntilBothWorkers(palisade, 6, () => ({ path, headers }));
    expect(statuses.map((s) => s.status)).toEqual(Array(statuses.length).fill(451));
  });
});

describe('WAF settings at start', () => {
  it('exits 78 naming file:line for a rule file with an error, and for a CRS that is missing in front of an upstream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-waf-'));
    writeFileSync(
      join(dir, 'custom.conf'),
      '# one good rule, then a broken one\nSecRule ARGS "@rx evil" "id:100001,phase:2,deny,log"\nSecRule ARGS "@nosuchop x" "id:100002,phase:2,deny"\n',
    );
    const broken = await runCli(['start'], { REVERSE_PROXY_HOST: upstream.url, USE_MODSECURITY: 'yes', MODSECURITY_RULES_AFTER_CRS: join(dir, 'custom.conf') });
    expect(broken.code).toBe(78);
    expect(broken.stderr).toContain(`MODSECURITY_RULES_AFTER_CRS: ${join(dir, 'custom.conf')}:3:`);
    const missing = await runCli(['start'], { REVERSE_PROXY_HOST: upstream.url, USE_MODSECURITY: 'yes', MODSECURITY_CRS_DIR: join(dir, 'no-crs-here') });
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain('MODSECURITY_CRS_DIR: no Core Rule Set in');
    expect(missing.stderr).toContain('apt-get install modsecurity-crs');
    // `config check` says the same, before anyone starts anything.
    expect(
      (await runCli(['config', 'check'], { REVERSE_PROXY_HOST: upstream.url, USE_MODSECURITY: 'yes', MODSECURITY_RULES_AFTER_CRS: join(dir, 'custom.conf') }))
        .code,
    ).toBe(78);
  });

  it('starts the demo without a CRS, saying so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-waf-'));
    const demo = await startPalisade({ USE_MODSECURITY: 'yes', WORKERS: '0', MODSECURITY_CRS_DIR: join(dir, 'none') });
    nodes.push(demo);
    expect((await fetch(`${demo.proxyUrl}/`)).status).toBe(200);
    expect(demo.logs.some((l) => String(l.msg).startsWith('no Core Rule Set found'))).toBe(true);
  });
});
