import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { runCli, startPalisade, type PalisadeProcess } from '../helpers/palisade.js';

let node: PalisadeProcess | undefined;
afterEach(async () => {
  await node?.stop();
  node = undefined;
});

describe('boot', () => {
  it('serves the built-in demo upstream when REVERSE_PROXY_HOST is unset, and is ready in local mode', async () => {
    node = await startPalisade();
    const response = await fetch(`${node.proxyUrl}/hello?x=1`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { message: string; url: string; forwarded: Record<string, string> };
    expect(body.message).toContain('demo upstream');
    expect(body.url).toBe('/hello?x=1');
    expect(body.forwarded['x-forwarded-for']).toBe('127.0.0.1');
    expect(node.logs.some((l) => String(l.msg).includes('REVERSE_PROXY_HOST is not set'))).toBe(true);
    const ready = await fetch(`${node.adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', store: 'local', node: 'test-node' });
  });

  it('exits 78 naming every invalid setting, before listening', async () => {
    const port = await freePort();
    const env = {
      HTTP_PORT: 'abc',
      DENY_HTTP_STATUS: '99',
      REAL_IP_FROM: '10.0.0.0/33',
      ADMIN_LISTEN: `0.0.0.0:${port}`,
    };
    const result = await runCli(['start'], env);
    expect(result.code).toBe(78);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toEqual([
      'palisade: 4 invalid setting(s) [PAL_SETTINGS_INVALID]',
      'HTTP_PORT: must be a whole number (got "abc")',
      'REAL_IP_FROM: must be an IP or a CIDR like 10.0.0.0/8 or 2001:db8::/32 (got "10.0.0.0/33")',
      'DENY_HTTP_STATUS: must be at least 400 (got "99")',
      `ADMIN_TOKEN: required when ADMIN_LISTEN is not a loopback address (ADMIN_LISTEN is 0.0.0.0:${port}); or set ADMIN_TOKENS, or ADMIN_AUTH_PROXY_FROM`,
    ]);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('refuses an auth proxy trusted from every address on a non-loopback admin (exit 78)', async () => {
    const port = await freePort();
    const result = await runCli(['start'], { ADMIN_LISTEN: `0.0.0.0:${port}`, ADMIN_AUTH_PROXY_FROM: '0.0.0.0/0 ::/0', ADMIN_AUTH_PROXY_ROLES: '*=operator' });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain(
      `ADMIN_AUTH_PROXY_FROM: 0.0.0.0/0, ::/0 trusts every address to name the admin user (any client reaching 0.0.0.0:${port} could send the user header); name the auth proxy's own addresses`,
    );
    // On a loopback admin only local peers can reach it: accepted.
    expect((await runCli(['config', 'check'], { ADMIN_AUTH_PROXY_FROM: '0.0.0.0/0', ADMIN_AUTH_PROXY_ROLES: '*=operator' })).code).toBe(0);
  });

  it('never prints a secret: config check masks it, a bad value is shown as ***', async () => {
    const secret = 'super-secret-admin-token-value';
    const ok = await runCli(['config', 'check'], { ADMIN_TOKEN: secret, HTTP_PORT: '9000' });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ADMIN_TOKEN\s+\*\*\*\s+\(env\)$/m);
    expect(ok.stdout).toMatch(/^HTTP_PORT\s+9000\s+\(env\)$/m);
    expect(ok.stdout + ok.stderr).not.toContain(secret);
    const bad = await runCli(['config', 'check'], { ADMIN_TOKEN: 'short-secret' });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('ADMIN_TOKEN: must be at least 16 characters (got "***")');
    expect(bad.stderr).not.toContain('short-secret');
  });

  it('prints the settings reference', async () => {
    const result = await runCli(['settings']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('| `HTTP_PORT` | `8080` |');
  });

  it('exits 1 with PAL_LISTEN_FAILED when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const adminPort = await freePort();
    const result = await runCli(['start'], { HTTP_ADDRESS: '127.0.0.1', HTTP_PORT: String(port), ADMIN_LISTEN: `127.0.0.1:${adminPort}` });
    blocker.close();
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`palisade: cannot listen on 127.0.0.1:${port}: address already in use [PAL_LISTEN_FAILED]\n`);
  });

  it('still exits 0 on SIGTERM when whoever read its stdout has gone (EPIPE)', async () => {
    node = await startPalisade();
    // The shutdown lines are the first to meet the broken pipe, all queued at once.
    node.child.stdout!.destroy();
    const code = await Promise.race([node.stop('SIGTERM'), new Promise((resolve) => setTimeout(() => resolve('hung'), 5_000))]);
    expect(code).toBe(0);
    node = undefined;
  });

  it('drains in-flight requests on SIGTERM and exits 0', async () => {
    const { startUpstream } = await import('../helpers/upstream.js');
    const upstream = await startUpstream((_req, res) => {
      setTimeout(() => res.end('slow but complete'), 400);
    });
    try {
      node = await startPalisade({ REVERSE_PROXY_HOST: upstream.url, SHUTDOWN_TIMEOUT: '5s' });
      const inFlight = fetch(`${node.proxyUrl}/slow`).then(async (r) => ({ status: r.status, body: await r.text() }));
      await import('../helpers/wait.js').then(({ waitFor }) => waitFor(() => upstream.seen.length === 1, 'the request to reach the upstream'));
      const code = await node.stop('SIGTERM');
      expect(await inFlight).toEqual({ status: 200, body: 'slow but complete' });
      expect(code).toBe(0);
      expect(node.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down', 'draining', 'stopped']));
      node = undefined;
    } finally {
      await upstream.close();
    }
  });
});
