import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPalisade, type PalisadeProcess } from '../helpers/palisade.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis.js';
import { stopAfterEach } from '../helpers/stop-after-each.js';
import { startTraffic } from '../helpers/traffic.js';
import { answerAfterBody, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The WAF's detections in the cluster: attackers banned on every node with the rules as
 * evidence (ban, explain, audit), bounded metrics, detect mode, rule files reloaded, and the
 * cluster view flagging a node whose rules differ. Real nodes, one Redis, Debian's CRS.
 */
let upstream: TestUpstream;
let redis: RedisServer;
const nodes = stopAfterEach<PalisadeProcess>();

beforeAll(async () => {
  upstream = await startUpstream(answerAfterBody);
  redis = await startRedis();
});
afterAll(async () => {
  await stopAllRedis();
  await upstream.close();
});

async function node(name: string, env: Record<string, string> = {}): Promise<PalisadeProcess> {
  const started = await startPalisade({
    NODE_NAME: name,
    REVERSE_PROXY_HOST: upstream.url,
    USE_MODSECURITY: 'yes',
    USE_REDIS: 'yes',
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(redis.port),
    USE_REAL_IP: 'yes',
    REAL_IP_FROM: '127.0.0.1/32',
    USE_LIMIT_REQ: 'no',
    WORKERS: '0',
    ...env,
  });
  nodes.push(started);
  return started;
}

const SQLI = `/products?id=${encodeURIComponent("1' UNION SELECT password FROM users--")}`;

/** One request as a browser would send it, from `ip`; its status and access line. */
async function send(palisade: PalisadeProcess, path: string, ip: string): Promise<{ status: number; line: Record<string, unknown> }> {
  const response = await fetch(`${palisade.proxyUrl}${path}`, {
    headers: { 'x-forwarded-for': ip, 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', accept: 'text/html', 'accept-language': 'en' },
  });
  await response.arrayBuffer();
  const id = response.headers.get('x-request-id');
  const line = await waitFor(() => palisade.logs.find((l) => l.msg === 'request' && l.reqId === id), 'the access line');
  return { status: response.status, line };
}

const api = async <T>(palisade: PalisadeProcess, path: string): Promise<T> => (await (await fetch(`${palisade.adminUrl}${path}`)).json()) as T;

type Ban = { ip: string; reason: string; actor: string; evidence: string };

describe('the WAF in the cluster', () => {
  it('bans a client after 15 SQL injections on A (2 workers) on B too, with rule 942100 in the ban, explain, the audit trail and the metrics', async () => {
    const a = await node('waf-a', { WORKERS: '2' });
    const b = await node('waf-b');
    const ip = '203.0.113.77';
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) statuses.push((await send(a, `${SQLI}&n=${i}`, ip)).status);
    expect(statuses.every((status) => status === 403)).toBe(true);
    // Bad behaviour counted the refusals (ten by default) and banned the client on every node.
    await waitFor(async () => (await send(b, '/products?id=42', ip)).status === 403, 'a clean request from the client refused on B');
    const [ban] = (await api<{ bans: Ban[] }>(b, `/api/bans?ip=${ip}`)).bans;
    expect(ban).toMatchObject({ ip, reason: 'bad-behavior', actor: 'bad-behavior' });
    expect(ban!.evidence).toMatch(/GET \/products 403 waf [\d,]*942100[\d,]* [a-z,-]*sqli/);
    // explain on A: the node that saw the requests names the rule, the message and the time.
    const explained = await api<{
      verdict: { action: string };
      findings: Array<{ plugin: string; events?: Array<{ rule: string; message: string; at: string; request: string }> }>;
    }>(a, `/api/explain?ip=${ip}`);
    expect(explained.verdict.action).toBe('refuse');
    const events = explained.findings.find((f) => f.plugin === 'modsecurity')?.events ?? [];
    expect(events).toContainEqual(expect.objectContaining({ rule: '942100', request: 'GET /products', message: expect.stringMatching(/SQL Injection/i) }));
    // The audit entry of the ban: the plugin as actor, the rule and category named.
    const audit = await api<{ entries: Array<{ action: string; target: string; actor: string; detail: string }> }>(a, '/api/audit?limit=50');
    expect(audit.entries.find((e) => e.action === 'ban' && e.target === ip)).toMatchObject({
      actor: 'bad-behavior',
      detail: expect.stringMatching(/942100.*sqli/),
    });
    // Metrics: refusals by category, summed over A's workers; no series names the client.
    const metrics = await (await fetch(`${a.adminUrl}/metrics`)).text();
    expect(Number(/^palisade_waf_refused_total\{category="sqli",mode="block"[^}]*\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(10);
    expect(metrics).toMatch(/^palisade_waf_inspection_seconds_count\{[^}]*\} \d+/m);
    expect(metrics.split('\n').filter((line) => line.startsWith('palisade_waf_') && line.includes(ip))).toEqual([]);
  });

  it('in detect mode lets the attacks through, names the rules, bans nobody, and lists what would be refused on the review page', async () => {
    const c = await node('waf-detect', { SECURITY_MODE: 'detect' });
    const ip = '203.0.113.78';
    for (let i = 0; i < 15; i++) {
      const { status, line } = await send(c, `${SQLI}&n=${i}`, ip);
      expect(status).toBe(200);
      expect(line).toMatchObject({ verdict: 'detect:deny', reason: 'modsecurity' });
      expect((line.waf as { rules: number[] }).rules).toContain(942100);
    }
    const page = await waitFor(async () => {
      const html = await (await fetch(`${c.adminUrl}/bans`)).text();
      return /<table id="waf-rules">.*942100.*<\/table>/s.test(html) ? html : undefined;
    }, "the review page's WAF section");
    expect(page).toMatch(/what would have been refused/);
    expect(page).toMatch(/<table id="waf-paths">.*GET \/products.*<\/table>/s);
    expect((await api<{ bans: Ban[] }>(c, `/api/bans?ip=${ip}`)).bans).toEqual([]);
    const metrics = await (await fetch(`${c.adminUrl}/metrics`)).text();
    expect(Number(/^palisade_waf_refused_total\{category="sqli",mode="detect"[^}]*\} (\d+)/m.exec(metrics)?.[1])).toBe(15);
  });

  it('reloads an exclusion file under load without a failed request, keeps its rules when the file breaks, and the cluster view flags a node whose rules differ', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-waf-cluster-'));
    const file = join(dir, 'exclusions.conf');
    writeFileSync(file, 'SecRuleRemoveById 942100\n');
    // A cluster of its own (its own keys in the shared Redis): the nodes of the tests before,
    // stopped moments ago, still count as live for a few heartbeats and have rules of their own.
    const cluster = { REDIS_KEY_PREFIX: 'palisade-exclusions', SECURITY_MODE: 'detect', USE_BAD_BEHAVIOR: 'no' };
    const d = await node('waf-d', { ...cluster, MODSECURITY_RULES_AFTER_CRS: file });
    const e = await node('waf-e', cluster);
    const rulesOf = async (palisade: PalisadeProcess): Promise<number[]> =>
      ((await send(palisade, SQLI, '198.51.100.90')).line.waf as { rules: number[] }).rules;
    expect(await rulesOf(d)).not.toContain(942100);
    expect(await rulesOf(e)).toContain(942100);

    // D's rules differ from E's: flagged, on both nodes' view (a tie goes to the answering node's own).
    type View = { nodes: Array<{ node: string; differs: string[] }>; summary: { differing: number } };
    const flagged = await waitFor(async () => {
      const view = await api<View>(e, '/api/cluster');
      return view.nodes.find((n) => n.node === 'waf-d')?.differs.includes('modsecurity.rules') ? view : undefined;
    }, 'waf-d flagged by waf-e');
    expect(flagged.nodes.find((n) => n.node === 'waf-e')?.differs).toEqual([]);
    expect(flagged.summary.differing).toBe(1);

    const reloads = async (result: string): Promise<number> =>
      Number(
        new RegExp(`^palisade_reloads_total\\{result="${result}"[^}]*\\} (\\d+)`, 'm').exec(await (await fetch(`${d.adminUrl}/metrics`)).text())?.[1] ?? 0,
      );
    // The exclusion dropped, the same setting: reloaded under load, 942100 matches again.
    const traffic = startTraffic(`${d.proxyUrl}/products?id=42`, 4);
    await waitFor(() => traffic.answered() > 50, 'traffic before the reload');
    writeFileSync(file, '# no exclusion any more\n');
    d.child.kill('SIGHUP');
    await waitFor(async () => (await reloads('applied')) === 1, 'the reload applied');
    const answeredBefore = traffic.answered();
    await waitFor(() => traffic.answered() > answeredBefore + 50, 'traffic after the reload');
    const report = await traffic.stop();
    expect({ failed: report.failed, statuses: report.statuses }).toEqual({ failed: 0, statuses: {} });
    expect(await rulesOf(d)).toContain(942100);
    // Now the same rules as E: no longer flagged.
    await waitFor(async () => (await api<View>(e, '/api/cluster')).summary.differing === 0, 'waf-d no longer flagged');

    // A broken file: the reload is refused (file:line said), the node keeps its rules.
    writeFileSync(file, 'SecRuleRemoveById 942100\nSecRule ARGS "@nosuchop x" "id:9100001,phase:2,deny"\n');
    d.child.kill('SIGHUP');
    await waitFor(async () => (await reloads('rejected')) === 1, 'the reload refused');
    expect(d.logs.find((l) => l.code === 'PAL_RELOAD_REJECTED')?.error).toMatch(/MODSECURITY_RULES_AFTER_CRS.*exclusions\.conf:2/);
    expect(await rulesOf(d)).toContain(942100);
    expect((await send(d, '/products?id=42', '198.51.100.91')).status).toBe(200);
  });
});
