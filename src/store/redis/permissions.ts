import type { RedisClient } from './clients.js';
import type { RedisKeys } from './keys.js';

/**
 * Every command Palisade sends, each with a harmless probe on throwaway keys under the
 * prefix. Run once after connecting: a NOPERM answer names the permission to grant, instead
 * of a failure deep inside a request later. Keep in step with the ACL in the plugin README.
 */
function probes(keys: RedisKeys, node: string): Array<[command: string, args: Array<string | number>]> {
  const str = keys.probe(node, 'string');
  const hash = keys.probe(node, 'hash');
  const zset = keys.probe(node, 'zset');
  const stream = keys.probe(node, 'stream');
  return [
    ['ping', []],
    ['info', ['server']],
    ['role', []],
    // Scripts read Redis's clock: Redis checks the commands a script runs against the ACL too.
    ['time', []],
    ['set', [str, '1', 'PX', 10_000]],
    ['get', [str]],
    ['mget', [str, str]],
    ['exists', [str]],
    ['incr', [str]],
    ['incrby', [str, 1]],
    ['expire', [str, 10]],
    ['pexpire', [str, 10_000]],
    ['ttl', [str]],
    ['pttl', [str]],
    ['hset', [hash, 'f', '1']],
    ['hget', [hash, 'f']],
    ['hgetall', [hash]],
    ['hincrby', [hash, 'f', 1]],
    ['hdel', [hash, 'f']],
    ['hkeys', [hash]],
    ['zadd', [zset, 1, 'm']],
    ['zrange', [zset, 0, -1]],
    ['zrangebyscore', [zset, '-inf', '+inf']],
    ['zcard', [zset]],
    ['zscore', [zset, 'm']],
    ['zrem', [zset, 'm']],
    ['zremrangebyscore', [zset, '-inf', '+inf']],
    ['xadd', [stream, 'MAXLEN', '~', 10, '*', 'f', '1']],
    ['xrange', [stream, '-', '+', 'COUNT', 1]],
    ['xrevrange', [stream, '+', '-', 'COUNT', 1]],
    ['xread', ['COUNT', 1, 'STREAMS', stream, '0']],
    ['xtrim', [stream, 'MAXLEN', 0]],
    ['eval', ["return redis.call('GET', KEYS[1])", 1, str]],
    ['evalsha', ['0000000000000000000000000000000000000000', 0]],
    ['script', ['LOAD', 'return 1']],
    ['del', [str, hash, zset, stream]],
    // A cluster client checks the cluster with CLUSTER INFO before it is ready, learns the
    // slot map with CLUSTER SLOTS, and sends ASKING while a slot migrates.
    ...(keys.cluster
      ? ([
          ['cluster', ['INFO']],
          ['cluster', ['SLOTS']],
          ['asking', []],
        ] as Array<[string, Array<string | number>]>)
      : []),
  ];
}

/** What the probe found: commands refused, and whether the prefix itself is off-limits. */
export interface PermissionReport {
  missing: string[];
  keysDenied: boolean;
}

/** Runs the probe on `client` (one pipeline, one round trip). */
export async function checkPermissions(client: RedisClient, keys: RedisKeys, node: string): Promise<PermissionReport> {
  const list = probes(keys, node);
  const pipeline = client.pipeline();
  for (const [command, args] of list) pipeline.call(command, ...args);
  const results = (await pipeline.exec()) ?? [];
  const missing: string[] = [];
  let keysDenied = false;
  results.forEach(([error], i) => {
    if (!error || !/^NOPERM/.test(error.message)) return;
    if (/access (one of )?the keys|No permissions to access a key/i.test(error.message)) keysDenied = true;
    else {
      const [command, args] = list[i]!;
      missing.push(command === 'script' ? 'script|load' : command === 'cluster' ? `cluster|${String(args[0]).toLowerCase()}` : command);
    }
  });
  return { missing, keysDenied };
}

/** The fix to print for a failed probe. */
export function describePermissionReport(report: PermissionReport, username: string, keys: RedisKeys): string {
  const user = username || 'default';
  const parts: string[] = [];
  if (report.missing.length > 0) {
    parts.push(
      `Redis user "${user}" may not run: ${report.missing.join(', ')} (grant with ACL SETUSER ${user} ${report.missing.map((c) => `+${c}`).join(' ')})`,
    );
  }
  if (report.keysDenied) parts.push(`Redis user "${user}" may not access keys ${keys.aclPattern} (grant with ACL SETUSER ${user} ~${keys.aclPattern})`);
  return parts.join('; ');
}
