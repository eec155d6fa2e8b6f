import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/palisade.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, stopAllRedis } from '../helpers/redis.js';

afterAll(stopAllRedis);

interface Finding {
  check: string;
  severity: string;
  message: string;
  fix?: string;
}

async function doctor(env: Record<string, string>): Promise<{ code: number | null; findings: Finding[]; stdout: string; stderr: string }> {
  const result = await runCli(['doctor', '--json'], { USE_REDIS: 'yes', REDIS_HOST: '127.0.0.1', ...env });
  const parsed = result.stdout ? (JSON.parse(result.stdout) as { findings?: Finding[] }) : {};
  return { code: result.code, findings: parsed.findings ?? [], stdout: result.stdout, stderr: result.stderr };
}

const severityOf = (findings: Finding[], check: string): string | undefined => findings.find((f) => f.check === check)?.severity;

describe('palisade doctor', () => {
  it('flags a careless Redis with errors, warnings and one-line fixes (exit 1)', async () => {
    const redis = await startRedis({ config: ['maxmemory-policy allkeys-lru'] });
    const other = redis.client();
    await other.set('someone-else:key', '1');
    const result = await doctor({ REDIS_PORT: String(redis.port) });
    expect(result.code).toBe(1);
    expect(severityOf(result.findings, 'eviction')).toBe('error');
    expect(result.findings.find((f) => f.check === 'eviction')?.fix).toBe('CONFIG SET maxmemory-policy volatile-lru');
    expect(severityOf(result.findings, 'auth')).toBe('error');
    expect(severityOf(result.findings, 'persistence')).toBe('warn');
    expect(severityOf(result.findings, 'maxmemory')).toBe('warn');
    expect(severityOf(result.findings, 'idle-timeout')).toBe('warn');
    expect(severityOf(result.findings, 'shared-db')).toBe('warn');
    expect(severityOf(result.findings, 'replicas')).toBe('warn');
    expect(severityOf(result.findings, 'version')).toBe('ok');
    const text = await runCli(['doctor'], { USE_REDIS: 'yes', REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redis.port) });
    expect(text.stdout).toMatch(/^ {2}error {2}eviction +maxmemory-policy allkeys-lru lets a flood evict bans/m);
    expect(text.stdout).toMatch(/^2 error\(s\), \d+ warning\(s\)$/m);
  });

  it('passes a careful managed-style Redis where CONFIG is forbidden, saying what it could not check (exit 0)', async () => {
    const user =
      'user palisade on >doctor-secret-pw resetkeys ~palisade:* resetchannels &palisade:* -@all +hello +auth +ping +info +role +time +select +client|setname ' +
      '+get +set +del +exists +mget +incr +incrby +expire +pexpire +ttl +pttl +hset +hget +hgetall +hincrby +hdel +hkeys +zadd +zrem +zrange +zrangebyscore ' +
      '+zremrangebyscore +zcard +zscore +xadd +xread +xrange +xrevrange +xtrim +evalsha +eval +script|load +multi +exec';
    const master = await startRedis({
      config: [
        'appendonly yes',
        'maxmemory 64mb',
        'maxmemory-policy volatile-lru',
        'timeout 300',
        'masteruser palisade',
        'masterauth doctor-secret-pw',
        'user default off',
        user,
        'user replicator on >repl-pw +psync +replconf +ping',
      ],
      username: 'palisade',
      password: 'doctor-secret-pw',
    });
    await startRedis({ config: [`replicaof 127.0.0.1 ${master.port}`, 'masteruser replicator', 'masterauth repl-pw'] });
    const probe = master.client({ username: 'palisade', password: 'doctor-secret-pw' });
    await expect.poll(async () => (await probe.info('replication')).includes('connected_slaves:1'), { timeout: 10_000 }).toBe(true);
    const result = await doctor({ REDIS_PORT: String(master.port), REDIS_USERNAME: 'palisade', REDIS_PASSWORD: 'doctor-secret-pw' });
    expect(result.stderr).toBe('');
    expect(result.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(result.code).toBe(0);
    expect(severityOf(result.findings, 'persistence')).toBe('ok');
    expect(severityOf(result.findings, 'eviction')).toBe('ok');
    expect(severityOf(result.findings, 'auth')).toBe('ok');
    expect(severityOf(result.findings, 'replicas')).toBe('ok');
    expect(severityOf(result.findings, 'acl')).toBe('ok');
    expect(result.findings.find((f) => f.check === 'protected-mode')).toMatchObject({ severity: 'info', message: expect.stringContaining('could not check') });
    expect(result.findings.find((f) => f.check === 'shared-db')).toMatchObject({ severity: 'info', message: expect.stringContaining('could not check') });
    expect(result.stdout).not.toContain('doctor-secret-pw');
  });

  it('exits 2 when Redis cannot be reached', async () => {
    const result = await doctor({ REDIS_PORT: String(await freePort()), REDIS_TIMEOUT: '1s' });
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ reachable: false });
    expect(result.stderr).toMatch(/^palisade doctor: cannot reach Redis \(127\.0\.0\.1:\d+\): .*ECONNREFUSED.* \[PAL_REDIS_UNAVAILABLE\]\n$/);
  });
});
