import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPalisade, type PalisadeProcess } from '../helpers/palisade.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

/** Runs `promtool <args>` with `input` on stdin; resolves with its exit code and what it printed. */
function promtool(input: string, args = ['check', 'metrics']): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(input);
  });
}

let redis: RedisServer;
let upstream: TestUpstream;
let node: PalisadeProcess;

beforeAll(async () => {
  redis = await startRedis();
  upstream = await startUpstream((req, res) => {
    res.writeHead(req.url?.startsWith('/missing') ? 404 : 200);
    res.end('ok');
  });
  // Every plugin that registers metrics, on a node sharing its state through Redis.
  node = await startPalisade({
    REVERSE_PROXY_HOST: upstream.url,
    USE_REDIS: 'yes',
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT: String(redis.port),
    USE_ANTIBOT: 'cookie',
    USE_REAL_IP: 'yes',
    REAL_IP_FROM: '127.0.0.1',
    BAD_BEHAVIOR_THRESHOLD: '2',
    BLACKLIST_URI: '^/blocked',
    // The WAF (Debian's CRS, which `npm test` installs): its series are on the dashboard.
    USE_MODSECURITY: 'yes',
  });
});

afterAll(async () => {
  await node?.stop();
  await upstream?.close();
  await stopAllRedis();
});

describe('/metrics', () => {
  it('passes promtool check metrics with every series a busy node exports', async () => {
    const as = (ip: string) => ({ headers: { 'x-forwarded-for': ip }, redirect: 'manual' as const });
    for (const path of ['/', '/blocked', '/missing/1', '/missing/2', '/missing/3', "/?id=1'%20OR%201=1--"])
      await (await fetch(`${node.proxyUrl}${path}`, as('198.51.100.40'))).arrayBuffer();
    await waitFor(
      async () =>
        (await (await fetch(`${node.proxyUrl}/`, as('198.51.100.41'))).arrayBuffer()) &&
        (await fetch(`${node.adminUrl}/metrics`)).text().then((t) => t.includes('palisade_cluster_http_requests')),
      'cluster totals',
    );
    const text = await (await fetch(`${node.adminUrl}/metrics`)).text();
    // The families this node has to show, so the lint does not pass on an empty page.
    for (const family of [
      'palisade_http_requests_total',
      'palisade_blocked_requests_total',
      'palisade_http_request_duration_seconds',
      'palisade_cluster_http_requests',
      'palisade_bans_total',
      'palisade_active_bans',
      'palisade_redis_command_duration_seconds',
      'palisade_waf_refused_total',
      'palisade_waf_inspection_seconds',
      'palisade_rate_leases_total',
      'nodejs_active_handles',
      'process_cpu_seconds_total',
    ]) {
      expect(text).toContain(`# TYPE ${family} `);
    }
    const lint = await promtool(text);
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
  });

  it('runs alerting rules that promtool accepts, and the rules and the dashboard name only metrics a node exports', async () => {
    const rulesFile = join(packageRoot, 'deploy', 'prometheus', 'alerts.yaml');
    const rules = await promtool('', ['check', 'rules', rulesFile]);
    expect(rules.output).toContain('SUCCESS');
    expect(rules.code).toBe(0);
    const dashboard = JSON.parse(readFileSync(join(packageRoot, 'deploy', 'grafana', 'palisade.json'), 'utf8')) as {
      panels: Array<{ targets?: Array<{ expr: string }> }>;
    };
    const queries = [readFileSync(rulesFile, 'utf8'), ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((t) => t.expr))].join('\n');
    const named = new Set([...queries.matchAll(/\b((?:palisade|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, '')));
    expect(named.size).toBeGreaterThan(10);
    // Every family is declared on the first scrape, with or without a value yet.
    const text = await (await fetch(`${node.adminUrl}/metrics`)).text();
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    expect([...named].filter((name) => !exported.has(name))).toEqual([]);
  });
});
