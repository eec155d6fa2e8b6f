import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startPalisade, type PalisadeProcess } from '../helpers/palisade.js';
import { startRedis, stopAllRedis, type RedisServer } from '../helpers/redis.js';
import { makeTestPki, type TestPki } from '../helpers/tls.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../helpers/ports.js';
import { stopAfterEach } from '../helpers/stop-after-each.js';

/** Loopback listener settings for a `palisade start` expected to exit. */
async function ports(): Promise<Record<string, string>> {
  return { HTTP_ADDRESS: '127.0.0.1', HTTP_PORT: String(await freePort()), ADMIN_LISTEN: `127.0.0.1:${await freePort()}` };
}

const ADMIN = { authorization: 'Bearer redis-test-admin-token' };
let upstream: TestUpstream;
const nodes = stopAfterEach<PalisadeProcess>();

async function node(env: Record<string, string>): Promise<PalisadeProcess> {
  const started = await startPalisade({ REVERSE_PROXY_HOST: upstream.url, ADMIN_TOKEN: ADMIN.authorization.slice(7), ...env });
  nodes.push(started);
  return started;
}

async function json(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { headers: ADMIN });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Names of the connections a node holds on `server`, from CLIENT LIST. */
async function clientNames(server: RedisServer, node: string, password?: string): Promise<string[]> {
  const admin = server.client(password ? { password } : {});
  const list = (await admin.call('CLIENT', 'LIST')) as string;
  admin.disconnect();
  return list
    .split('\n')
    .map((line) => /name=(\S*)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith(`palisade:${node}:`))
    .sort();
}

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await stopAllRedis();
  await upstream.close();
});

describe('redis plugin, standalone', () => {
  it('shares state through a named keepalive pool and reports it on /readyz, /metrics and its routes', async () => {
    const redis = await startRedis();
    const n = await node({ USE_REDIS: 'yes', REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port), REDIS_KEEPALIVE_POOL: '4', NODE_NAME: 'alpha' });
    expect((await json(`${n.adminUrl}/readyz`)).body).toMatchObject({ status: 'ready', store: 'shared' });
    const ping = await json(`${n.adminUrl}/plugins/redis/ping`);
    expect(ping).toMatchObject({ status: 200, body: { ok: true, master: `127.0.0.1:${redis.port}` } });
    const info = await json(`${n.adminUrl}/plugins/redis/info`);
    expect(info.body).toMatchObject({ mode: 'standalone', up: true, pool: { size: 4, ready: 4 }, keyPrefix: 'palisade' });
    await waitFor(async () => (await clientNames(redis, 'alpha')).length === 6, 'the dedicated connections');
    expect(await clientNames(redis, 'alpha')).toEqual([
      'palisade:alpha:background',
      'palisade:alpha:pool-0',
      'palisade:alpha:pool-1',
      'palisade:alpha:pool-2',
      'palisade:alpha:pool-3',
      'palisade:alpha:stream',
    ]);
    const check = redis.client();
    expect(await waitFor(() => check.get('palisade:node:alpha'), 'the heartbeat')).toContain('"node":"alpha"');
    expect(await check.pttl('palisade:node:alpha')).toBeGreaterThan(0);
    const metrics = await (await fetch(`${n.adminUrl}/metrics`, { headers: ADMIN })).text();
    expect(metrics).toMatch(/^palisade_redis_up\{node="alpha"\} 1$/m);
    expect(metrics).toMatch(/^palisade_store_degraded\{node="alpha"\} 0$/m);
    expect(metrics).toMatch(/^palisade_redis_pool_connections\{node="alpha"\} 4$/m);
    expect(metrics).toContain('palisade_redis_command_duration_seconds_bucket');
    expect(metrics).toMatch(/^palisade_redis_used_memory_bytes\{node="alpha"\} \d+/m);
  });

  it('keeps serving when Redis stops (degraded, breaker open) and is shared again when it is back', async () => {
    const redis = await startRedis();
    const n = await node({ USE_REDIS: 'yes', REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port), NODE_NAME: 'beta' });
    await redis.stop();
    const degraded = await waitFor(async () => {
      const ready = await json(`${n.adminUrl}/readyz`);
      return ready.body.store === 'degraded' ? ready : undefined;
    }, 'the store to degrade');
    expect(degraded.status).toBe(200);
    expect(String(degraded.body.detail)).toContain(`127.0.0.1:${redis.port}`);
    for (let i = 0; i < 20; i++) expect((await fetch(`${n.proxyUrl}/during-outage`)).status).toBe(200);
    const metrics = await (await fetch(`${n.adminUrl}/metrics`, { headers: ADMIN })).text();
    expect(metrics).toMatch(/^palisade_redis_breaker_open\{node="beta"\} 1$/m);
    expect(metrics).toMatch(/^palisade_store_degraded\{node="beta"\} 1$/m);
    const ping = await json(`${n.adminUrl}/plugins/redis/ping`);
    expect(ping).toMatchObject({ status: 503, body: { ok: false, code: 'PAL_REDIS_UNAVAILABLE' } });
    expect(n.logs.filter((l) => l.msg === 'redis circuit breaker open: store degraded, requests use local state')).toHaveLength(1);

    await redis.restart();
    await waitFor(async () => (await json(`${n.adminUrl}/readyz`)).body.store === 'shared', 'the store to be shared again', 15_000);
    expect(n.logs.some((l) => l.msg === 'redis circuit breaker closed: store shared again')).toBe(true);
  });

  it('starts degraded, without waiting for Redis, when Redis is down at boot: closed (503) until it holds the bans, or serving with SERVE_WITHOUT_BANS', async () => {
    const redis = await startRedis();
    await redis.stop();
    // The boot waits for the shared bans up to REDIS_TIMEOUT (1 s), then starts degraded: one
    // that waited on Redis any longer would not be started by the start helper's deadline
    // (30 s), which fails naming what it waited for.
    const env = { USE_REDIS: 'yes', REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port), REDIS_TIMEOUT: '1s' };
    const n = await node(env);
    expect((await json(`${n.adminUrl}/readyz`)).body).toMatchObject({ status: 'starting', store: 'degraded' });
    // Without the cluster's bans it cannot tell who is banned: every client waits.
    const closed = await fetch(`${n.proxyUrl}/`);
    expect(closed.status).toBe(503);
    expect(closed.headers.get('retry-after')).toBe('5');
    await waitFor(() => n.logs.find((l) => l.msg === 'request' && l.code === 'PAL_BANS_NOT_LOADED'), 'the access line of the refusal');
    const open = await node({ ...env, SERVE_WITHOUT_BANS: 'yes', NODE_NAME: 'serving-without-bans' });
    expect((await fetch(`${open.proxyUrl}/`)).status).toBe(200);
    // Redis back: the bans load, the closed node serves.
    await redis.restart();
    await waitFor(async () => (await fetch(`${n.proxyUrl}/`)).status === 200, 'the node to serve once it holds the bans', 20_000, 100);
  });

  it('fills the connection from REDIS_URL, with explicit REDIS_* values winning', async () => {
    const redis = await startRedis({ config: ['requirepass url-secret-pw'], password: 'url-secret-pw' });
    const n = await node({ USE_REDIS: 'yes', REDIS_URL: `redis://:url-secret-pw@127.0.0.1:1/3`, REDIS_PORT: String(redis.port), NODE_NAME: 'gamma' });
    expect((await json(`${n.adminUrl}/plugins/redis/info`)).body).toMatchObject({ up: true, database: 3 });
    expect(JSON.stringify(n.logs)).not.toContain('url-secret-pw');
    const check = await runCli(['config', 'check'], { USE_REDIS: 'yes', REDISCLOUD_URL: 'rediss://app:cloud-pw@cache.example:6380/2' });
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/^REDIS_HOST\s+cache\.example\s+\(derived\)$/m);
    expect(check.stdout).toMatch(/^REDIS_PORT\s+6380\s+\(derived\)$/m);
    expect(check.stdout).toMatch(/^REDIS_SSL\s+yes\s+\(derived\)$/m);
    expect(check.stdout).toMatch(/^REDIS_PASSWORD\s+\*\*\*\s+\(derived\)$/m);
    expect(check.stdout + check.stderr).not.toContain('cloud-pw');
  });

  it('works with the least-privilege ACL user, and refuses to start naming a missing permission', async () => {
    const acl =
      'user palisade on >acl-secret-pw resetkeys ~palisade:* resetchannels &palisade:* -@all +hello +auth +ping +info +role +time +select +client|setname ' +
      '+get +set +del +exists +mget +incr +incrby +expire +pexpire +ttl +pttl +hset +hget +hgetall +hincrby +hdel +hkeys +zadd +zrem +zrange +zrangebyscore ' +
      '+zremrangebyscore +zcard +zscore +xadd +xread +xrange +xrevrange +xtrim +evalsha +eval +script|load +multi +exec +publish +subscribe +unsubscribe';
    const weak = 'user weak on >weak-secret-pw resetkeys ~palisade:* -@all +hello +auth +ping +info +role +select +client|setname +get +set +del';
    const redis = await startRedis({ config: ['user default off', acl, weak], username: 'palisade', password: 'acl-secret-pw' });
    const env = { USE_REDIS: 'yes', REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port), REDIS_USERNAME: 'palisade', REDIS_PASSWORD: 'acl-secret-pw' };
    const n = await node({ ...env, NODE_NAME: 'acl' });
    expect((await json(`${n.adminUrl}/readyz`)).body.store).toBe('shared');
    expect(n.stderr()).toBe('');
    // The scripts run under this user too (Redis checks the commands inside them: TIME).
    const banned = await fetch(`${n.adminUrl}/api/bans`, {
      method: 'POST',
      headers: { ...ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ ip: '192.0.2.77', duration: '1h', reason: 'acl' }),
    });
    expect(banned.status).toBe(201);
    expect((await fetch(`${n.adminUrl}/api/bans/192.0.2.77`, { method: 'DELETE', headers: ADMIN })).status).toBe(204);
    expect(await redis.client().exists('palisade:unban:192.0.2.77')).toBe(1);

    const refused = await runCli(['start'], { ...env, REDIS_USERNAME: 'weak', REDIS_PASSWORD: 'weak-secret-pw', ...(await ports()) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Redis user "weak" may not run: time, mget, exists, incr');
    expect(refused.stderr).toContain('+xadd');
    expect(refused.stderr).toContain('[PAL_REDIS_PERMISSION]');
    expect(refused.stderr).not.toContain('weak-secret-pw');

    const wrongPassword = await runCli(['start'], { ...env, REDIS_PASSWORD: 'not-the-password', ...(await ports()) });
    expect(wrongPassword.code).toBe(1);
    expect(wrongPassword.stderr).toMatch(/refused the credentials .*\[PAL_REDIS_AUTH\]/);
    expect(wrongPassword.stderr).not.toContain('not-the-password');
  });
});

describe('redis plugin, TLS', () => {
  let pki: TestPki;
  let redis: RedisServer;
  beforeAll(async () => {
    pki = makeTestPki();
    redis = await startRedis({
      config: [`tls-cert-file ${'SERVER_CERT'}`, `tls-key-file ${'SERVER_KEY'}`, `tls-ca-cert-file ${'CA'}`, 'tls-auth-clients optional'].map((line) =>
        line.replace('SERVER_CERT', pki.serverCert).replace('SERVER_KEY', pki.serverKey).replace('CA', pki.ca),
      ),
      tlsReadyCheck: { ca: readFileSync(pki.ca, 'utf8') },
    });
  });

  const tlsEnv = (): Record<string, string> => ({ USE_REDIS: 'yes', REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port), REDIS_SSL: 'yes' });

  it('connects with verification on and the right CA (and a client certificate)', async () => {
    const n = await node({ ...tlsEnv(), REDIS_SSL_CA: pki.ca, REDIS_SSL_CERT: pki.clientCert, REDIS_SSL_KEY: pki.clientKey });
    expect((await json(`${n.adminUrl}/readyz`)).body.store).toBe('shared');
    expect((await json(`${n.adminUrl}/plugins/redis/info`)).body).toMatchObject({ tls: { verify: true }, up: true });
  });

  it('refuses a server signed by another CA with a clear error, and never falls back to plaintext', async () => {
    const result = await runCli(['start'], { ...tlsEnv(), REDIS_SSL_CA: pki.otherCa, ...(await ports()) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^palisade: plugin redis failed to start: TLS to Redis at 127\.0\.0\.1:\d+ failed \(.*certificate.*\); check REDIS_SSL_CA .* \[PAL_REDIS_TLS\]\n$/,
    );
    // Without REDIS_SSL the client speaks plaintext to the TLS port and never becomes ready.
    const plain = await node({ ...tlsEnv(), REDIS_SSL: 'no', REDIS_TIMEOUT: '1s' });
    expect((await json(`${plain.adminUrl}/readyz`)).body.store).toBe('degraded');
  });

  it('warns when verification is off', async () => {
    const n = await node({ ...tlsEnv(), REDIS_SSL_VERIFY: 'no' });
    expect((await json(`${n.adminUrl}/readyz`)).body.store).toBe('shared');
    expect(n.logs.find((l) => l.code === 'PAL_REDIS_TLS')?.msg).toContain('REDIS_SSL_VERIFY=no');
  });
});

describe('redis settings', () => {
  it('exits 78 naming every bad redis setting', async () => {
    const result = await runCli(['config', 'check'], {
      USE_REDIS: 'yes',
      REDIS_PORT: '65536',
      REDIS_DATABASE: '16',
      REDIS_TIMEOUT: '0',
      REDIS_KEEPALIVE_POOL: '0',
      REDIS_SSL: 'yes',
      REDIS_SSL_CA: '/nonexistent/ca.pem',
      REDIS_SENTINEL_HOSTS: '127.0.0.1:26379 [::1]:99999',
      REDIS_SENTINEL_MASTER: 'two words',
      REDIS_PASSWORD: 'never-printed-pw',
    });
    expect(result.code).toBe(78);
    expect(result.stderr.split('\n').slice(1, -1)).toEqual([
      'REDIS_PORT: must be at most 65535 (got "65536")',
      'REDIS_DATABASE: must be at most 15 (got "16")',
      'REDIS_SSL_CA: cannot read the file (ENOENT) (got "/nonexistent/ca.pem") [PAL_SETTINGS_FILE_UNREADABLE]',
      'REDIS_TIMEOUT: must be at least 1ms (got "0")',
      'REDIS_SENTINEL_HOSTS: must be host[:port] with a port from 1 to 65535, like 10.0.0.7:26379 or [::1]:26379 (got "[::1]:99999")',
      'REDIS_SENTINEL_MASTER: must be a name without spaces (got "two words")',
      'REDIS_KEEPALIVE_POOL: must be at least 1 (got "0")',
    ]);
    expect(result.stderr).not.toContain('never-printed-pw');
    const noHost = await runCli(['config', 'check'], { USE_REDIS: 'yes' });
    expect(noHost.stderr).toContain('REDIS_HOST: required with USE_REDIS=yes (or set REDIS_URL, REDIS_SENTINEL_HOSTS or REDIS_SENTINEL_HOST)');
    const badPort = await runCli(['config', 'check'], { REDIS_PORT: 'abc' });
    expect(badPort.stderr).toContain('REDIS_PORT: must be a whole number (got "abc")');
    const zero = await runCli(['config', 'check'], { REDIS_PORT: '0' });
    expect(zero.stderr).toContain('REDIS_PORT: must be at least 1 (got "0")');
    const badUrl = await runCli(['config', 'check'], { USE_REDIS: 'yes', REDIS_URL: 'http://user:hidden-pw@host' });
    expect(badUrl.stderr).toContain('REDIS_URL: must start with redis:// or rediss:// (got "http://user:***@host")');
  });
});
