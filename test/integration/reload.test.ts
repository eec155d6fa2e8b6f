import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startPalisade, type LaunchOptions, type PalisadeProcess } from '../helpers/palisade.js';
import { freePort } from '../helpers/ports.js';
import { stopAfterEach } from '../helpers/stop-after-each.js';
import { startTraffic } from '../helpers/traffic.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

let upstream: TestUpstream;
const nodes = stopAfterEach<PalisadeProcess>();
const OLD_TOKEN = 'old-admin-token-0123456789';
const NEW_TOKEN = 'new-admin-token-9876543210';

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream.close();
});

/** A working directory with a `.env` and an admin token file, as an operator lays them out. */
function workdir(dotenv: Record<string, string>): { dir: string; tokenFile: string; writeEnv(values: Record<string, string>): void } {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-reload-'));
  const tokenFile = join(dir, 'admin_token');
  writeFileSync(tokenFile, `${OLD_TOKEN}\n`);
  const writeEnv = (values: Record<string, string>): void =>
    writeFileSync(
      join(dir, '.env'),
      Object.entries(values)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
    );
  writeEnv(dotenv);
  return { dir, tokenFile, writeEnv };
}

async function node(dir: string, tokenFile: string, env: Record<string, string> = {}, options: LaunchOptions = {}): Promise<PalisadeProcess> {
  const started = await startPalisade(
    { WORKERS: '2', REVERSE_PROXY_HOST: upstream.url, ADMIN_TOKEN_FILE: tokenFile, USE_REAL_IP: 'yes', REAL_IP_FROM: '127.0.0.1/32', ...env },
    dir,
    options,
  );
  nodes.push(started);
  return started;
}

const withToken = (palisade: PalisadeProcess, token: string, path: string, init: RequestInit = {}): Promise<Response> =>
  fetch(`${palisade.adminUrl}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });

async function pids(palisade: PalisadeProcess, token: string): Promise<number[]> {
  const body = (await (await withToken(palisade, token, '/api/workers')).json()) as { workers: Array<{ pid: number; state: string }> };
  return body.workers.filter((w) => w.state === 'ready').map((w) => w.pid);
}

async function reloads(palisade: PalisadeProcess, token: string, result: string): Promise<number> {
  const text = await (await withToken(palisade, token, '/metrics')).text();
  return Number(new RegExp(`^palisade_reloads_total\\{result="${result}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

async function status(palisade: PalisadeProcess, ip: string): Promise<number> {
  const response = await fetch(`${palisade.proxyUrl}/`, { headers: { 'x-forwarded-for': ip } });
  await response.arrayBuffer();
  return response.status;
}

/** A GET on a new connection to the proxy port `port`: the status, or the error code (`ECONNREFUSED`). */
function statusAt(port: number): Promise<number | string> {
  return new Promise((resolve) => {
    http
      .get(`http://127.0.0.1:${port}/`, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/**
 * The same on a new connection: one kept open to a worker a reload replaced may still get
 * one answer from it (with `Connection: close`) while it drains.
 */
function freshStatus(palisade: PalisadeProcess, ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(`${palisade.proxyUrl}/`, { agent: false, headers: { 'x-forwarded-for': ip } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

describe('reload', () => {
  it('SIGHUP with a rotated ADMIN_TOKEN_FILE under load: 0 failed requests, old token refused, new accepted, counters and bans kept', async () => {
    // Per hour: no hit is given back while the test runs, however long the reload takes.
    const { dir, tokenFile } = workdir({ LIMIT_REQ_RATE: '10r/h' });
    const palisade = await node(dir, tokenFile);
    const before = await pids(palisade, OLD_TOKEN);
    expect(before).toHaveLength(2);
    const ban = await withToken(palisade, OLD_TOKEN, '/api/bans', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ip: '192.0.2.99', duration: '1h', reason: 'before the reload' }),
    });
    expect(ban.status).toBe(201);
    for (let i = 0; i < 6; i++) expect(await status(palisade, '198.51.100.7')).toBe(200);

    // Every request of the traffic comes from its own client: no limit gets in the way.
    let sequence = 0;
    const traffic = startTraffic(`${palisade.proxyUrl}/`, 4, 60_000, () => ({ 'x-forwarded-for': `100.64.${(++sequence >> 8) & 255}.${sequence & 255}` }));
    await waitFor(() => sequence > 200, 'traffic before the reload');
    writeFileSync(tokenFile, `${NEW_TOKEN}\n`);
    palisade.child.kill('SIGHUP');
    await waitFor(async () => (await withToken(palisade, NEW_TOKEN, '/api/workers')).status === 200, 'the new token to be accepted', 30_000);
    await waitFor(
      async () => {
        const now = await pids(palisade, NEW_TOKEN);
        return now.length === 2 && now.every((pid) => !before.includes(pid));
      },
      'both workers replaced',
      30_000,
    );
    const mark = sequence;
    await waitFor(() => sequence > mark + 200, 'traffic after the reload');
    const report = await traffic.stop();
    expect(report.failed).toBe(0);
    expect(report.sent).toBeGreaterThan(400);

    expect((await withToken(palisade, OLD_TOKEN, '/api/workers')).status).toBe(401);
    expect(await reloads(palisade, NEW_TOKEN, 'applied')).toBe(1);
    expect(palisade.logs.find((l) => l.msg === 'reloaded')).toMatchObject({ changed: ['ADMIN_TOKEN'], restartNeeded: [] });
    // The limit counted on: 6 before, 4 more now, then 429 (counters lost with the old
    // workers would allow 10). The ban holds on the new workers.
    const after = [];
    for (let i = 0; i < 5; i++) after.push(await status(palisade, '198.51.100.7'));
    expect(after).toEqual([200, 200, 200, 200, 429]);
    expect(await status(palisade, '192.0.2.99')).toBe(403);
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGHUP with an unreadable file keeps the node serving on its old settings, and says which variable', async () => {
    const { dir, tokenFile } = workdir({});
    const palisade = await node(dir, tokenFile);
    const before = await pids(palisade, OLD_TOKEN);
    rmSync(tokenFile);
    palisade.child.kill('SIGHUP');
    await waitFor(async () => (await reloads(palisade, OLD_TOKEN, 'rejected')) === 1, 'the rejected reload');
    const line = palisade.logs.find((l) => l.code === 'PAL_RELOAD_REJECTED');
    expect(line).toMatchObject({ setting: 'ADMIN_TOKEN_FILE', level: 'error' });
    expect(String(line?.error)).toMatch(/^ADMIN_TOKEN_FILE: /);
    expect(await pids(palisade, OLD_TOKEN)).toEqual(before);
    expect(await status(palisade, '198.51.100.8')).toBe(200);
    rmSync(dir, { recursive: true, force: true });
  });

  it('palisade reload applies list changes on every worker with the rotated token, and names what waits for a restart', async () => {
    const { dir, tokenFile, writeEnv } = workdir({ AUDIT_LOG_LENGTH: '1000' });
    const palisade = await node(dir, tokenFile, { LIMIT_REQ_RATE: '100r/s' });
    expect(await status(palisade, '203.0.113.50')).toBe(200);
    writeEnv({ AUDIT_LOG_LENGTH: '2000', BLACKLIST_IP: '203.0.113.0/24' });
    writeFileSync(tokenFile, `${NEW_TOKEN}\n`);
    // The CLI knows only the new token (it reads the same file): the node takes it for this call.
    const cli = await runCli(['reload'], { ADMIN_LISTEN: palisade.adminUrl.replace('http://', ''), ADMIN_TOKEN_FILE: tokenFile });
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toBe('reloaded: ADMIN_TOKEN, BLACKLIST_IP\napplied at the next start: AUDIT_LOG_LENGTH\n');
    const statuses = await Promise.all(Array.from({ length: 6 }, (_, i) => freshStatus(palisade, `203.0.113.${60 + i}`)));
    expect(statuses).toEqual(Array(6).fill(403));
    expect(palisade.logs.find((l) => l.code === 'PAL_RELOAD_NEEDS_RESTART')).toMatchObject({ settings: ['AUDIT_LOG_LENGTH'] });

    // A wrong token is refused whatever the files say.
    const refused = await runCli(['reload'], { ADMIN_LISTEN: palisade.adminUrl.replace('http://', ''), ADMIN_TOKEN: 'not-the-token-at-all-0000' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/\[PAL_ADMIN_UNAUTHORIZED\]/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('moves the proxy port on reload: the new port serves, the old one refuses; a port that cannot be bound refuses the reload', async () => {
    const first = await freePort();
    const { dir, tokenFile, writeEnv } = workdir({ HTTP_PORT: String(first) });
    const palisade = await node(dir, tokenFile, { HTTP_PORT: String(first) }, { fromDotenv: ['HTTP_PORT'] });
    expect(await statusAt(first)).toBe(200);

    const second = await freePort();
    writeEnv({ HTTP_PORT: String(second) });
    const moved = await withToken(palisade, OLD_TOKEN, '/api/reload', { method: 'POST' });
    expect(await moved.json()).toMatchObject({ applied: true, changed: ['HTTP_PORT'] });
    expect(await statusAt(second)).toBe(200);
    expect(await statusAt(first)).toBe('ECONNREFUSED');

    // A port another process holds: the reload is refused naming it, and the node stays where it is.
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as net.AddressInfo).port;
    writeEnv({ HTTP_PORT: String(taken) });
    const refused = await withToken(palisade, OLD_TOKEN, '/api/reload', { method: 'POST' });
    expect(refused.status).toBe(422);
    expect(await refused.json()).toMatchObject({
      errors: [{ name: 'HTTP_PORT', message: `cannot listen on 127.0.0.1:${taken}: address already in use` }],
    });
    expect(await statusAt(second)).toBe(200);
    holder.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('with WORKERS=0 applies the token, the trusted proxies and plugin settings, and names the core settings that need a restart', async () => {
    // REAL_IP_FROM from .env only: at first the test's address is not a trusted proxy.
    const { dir, tokenFile, writeEnv } = workdir({ REAL_IP_FROM: '10.0.0.0/8' });
    const palisade = await startPalisade({ WORKERS: '0', REVERSE_PROXY_HOST: upstream.url, ADMIN_TOKEN_FILE: tokenFile, USE_REAL_IP: 'yes' }, dir);
    nodes.push(palisade);
    writeEnv({ REAL_IP_FROM: '127.0.0.1/32', BLACKLIST_IP: '203.0.113.0/24', DENY_HTTP_STATUS: '451' });
    writeFileSync(tokenFile, `${NEW_TOKEN}\n`);
    const answer = await withToken(palisade, NEW_TOKEN, '/api/reload', { method: 'POST' });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ applied: true, changed: ['ADMIN_TOKEN', 'BLACKLIST_IP', 'REAL_IP_FROM'], restartNeeded: ['DENY_HTTP_STATUS'] });
    // The proxy believes X-Forwarded-For from the test now: the blacklisted client is refused.
    expect(await freshStatus(palisade, '203.0.113.70')).toBe(403);
    expect((await withToken(palisade, OLD_TOKEN, '/api/workers')).status).toBe(401);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a reload that lost the .env the node started with (moved, emptied, unreadable): 422, counted, named; the node keeps its settings', async () => {
    // The admin token, the blacklist and the proxy's port come from .env alone.
    const { dir, tokenFile } = workdir({ ADMIN_TOKEN: OLD_TOKEN, BLACKLIST_IP: '203.0.113.0/24' });
    const palisade = await startPalisade({ WORKERS: '2', REVERSE_PROXY_HOST: upstream.url, USE_REAL_IP: 'yes', REAL_IP_FROM: '127.0.0.1/32' }, dir);
    nodes.push(palisade);
    rmSync(tokenFile);
    const pidsBefore = await pids(palisade, OLD_TOKEN);
    const cliEnv = { ADMIN_LISTEN: palisade.adminUrl.replace('http://', ''), PALISADE_ADMIN_TOKEN: OLD_TOKEN };

    // Moved away: the CLI says refused (exit 1), naming the file; the API answers 422.
    renameSync(join(dir, '.env'), join(dir, 'env.moved'));
    const cli = await runCli(['reload'], cliEnv);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('.env: the .env the node started with (2 variables) is gone');
    const api = await withToken(palisade, OLD_TOKEN, '/api/reload', { method: 'POST' });
    expect(api.status).toBe(422);
    expect(await api.json()).toMatchObject({ code: 'PAL_RELOAD_REJECTED', errors: [expect.objectContaining({ name: '.env' })] });

    // Emptied by a rewrite racing the signal: refused too.
    writeFileSync(join(dir, '.env'), '');
    palisade.child.kill('SIGHUP');
    await waitFor(async () => (await reloads(palisade, OLD_TOKEN, 'rejected')) === 3, 'the third rejected reload');
    expect(palisade.logs.filter((l) => l.code === 'PAL_RELOAD_REJECTED').at(-1)).toMatchObject({
      setting: '.env',
      error: expect.stringContaining('is empty now'),
    });

    // Unreadable (a directory in its place; root reads through chmod 000): refused over SIGHUP without a trace of an unhandled rejection.
    rmSync(join(dir, '.env'));
    mkdirSync(join(dir, '.env'));
    palisade.child.kill('SIGHUP');
    await waitFor(async () => (await reloads(palisade, OLD_TOKEN, 'rejected')) === 4, 'the fourth rejected reload');
    expect(palisade.logs.filter((l) => l.code === 'PAL_RELOAD_REJECTED').at(-1)).toMatchObject({
      setting: '.env',
      error: expect.stringContaining('cannot read the file (EISDIR)'),
    });
    expect(palisade.logs.some((l) => l.msg === 'unhandled promise rejection')).toBe(false);
    // No token at all: refused at once, whatever state the files are in.
    expect((await fetch(`${palisade.adminUrl}/api/reload`, { method: 'POST' })).status).toBe(401);

    // Nothing moved: the token still guards the admin API, the blacklist holds, the workers are the same.
    expect((await fetch(`${palisade.adminUrl}/api/bans`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
    expect(await freshStatus(palisade, '203.0.113.9')).toBe(403);
    expect(await pids(palisade, OLD_TOKEN)).toEqual(pidsBefore);
    expect(await reloads(palisade, OLD_TOKEN, 'applied')).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start with an unreadable .env: exit 78 naming it, before listening', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-reload-'));
    mkdirSync(join(dir, '.env'));
    const result = await runCli(['start'], {}, dir);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('.env: cannot read the file (EISDIR)');
    expect(result.stdout).toBe('');
    rmSync(dir, { recursive: true, force: true });
  });
});
