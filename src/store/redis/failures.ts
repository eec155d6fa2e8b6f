import type { ErrorCode } from '../../errors.js';

/** What kind of trouble a Redis error is, for logs, /readyz and the boot decision. */
export type RedisTrouble =
  'tls' | 'auth' | 'permission' | 'unreachable' | 'timeout' | 'readonly' | 'sentinel-unreachable' | 'sentinel-unknown-master' | 'not-a-cluster' | 'other';

/** Troubles that are configuration mistakes: retrying will not fix them, boot should fail. */
export const CONFIG_TROUBLES: ReadonlySet<RedisTrouble> = new Set(['tls', 'auth', 'permission', 'not-a-cluster']);

/** The error code each trouble is logged and thrown with; a trouble added above must be given one here. */
const TROUBLE_CODES: Readonly<Record<RedisTrouble, ErrorCode>> = {
  tls: 'PAL_REDIS_TLS',
  auth: 'PAL_REDIS_AUTH',
  permission: 'PAL_REDIS_PERMISSION',
  'not-a-cluster': 'PAL_REDIS_CLUSTER',
  'sentinel-unreachable': 'PAL_REDIS_SENTINEL',
  'sentinel-unknown-master': 'PAL_REDIS_SENTINEL',
  unreachable: 'PAL_REDIS_UNAVAILABLE',
  timeout: 'PAL_REDIS_UNAVAILABLE',
  readonly: 'PAL_REDIS_UNAVAILABLE',
  other: 'PAL_REDIS_UNAVAILABLE',
};

/**
 * The error code a {@link RedisTrouble} is logged or thrown with: each configuration
 * mistake ({@link CONFIG_TROUBLES}) its own, the sentinels' theirs, and anything else
 * `PAL_REDIS_UNAVAILABLE` (Redis not usable for now).
 */
export function troubleCode(trouble: RedisTrouble): ErrorCode {
  return TROUBLE_CODES[trouble];
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

/** Sorts an ioredis / socket error into a {@link RedisTrouble}. */
export function classifyRedisError(error: Error): RedisTrouble {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const message = error.message;
  if (TLS_CODES.has(code) || /certificate|SSL routines|self[- ]signed|wrong version number/i.test(message)) return 'tls';
  if (/^(WRONGPASS|NOAUTH)|invalid username-password|AUTH failed|invalid password/i.test(message)) return 'auth';
  if (/^NOPERM/.test(message)) return 'permission';
  if (message.startsWith('READONLY')) return 'readonly';
  if (/cluster support disabled/i.test(message)) return 'not-a-cluster';
  if (/Command timed out|ETIMEDOUT|connect ETIMEDOUT/i.test(message) || code === 'ETIMEDOUT') return 'timeout';
  if (/All sentinels are unreachable/.test(message)) return 'sentinel-unreachable';
  if (
    ['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'].includes(code) ||
    /Connection is closed|Stream isn't writeable/.test(message)
  ) {
    return 'unreachable';
  }
  return 'other';
}

/**
 * When Redis answered but refused a write — out of memory under `maxmemory`, a read-only
 * replica, a missing ACL permission, a failing script, a failed snapshot (`MISCONF`) — the
 * reason with the fix, for `/readyz` and the log; undefined for anything else (timeouts and
 * lost connections are the breaker's business).
 */
export function writeRefusal(error: Error): string | undefined {
  const message = error.message.split('\n')[0] ?? '';
  if (/^OOM\b/.test(message)) return `Redis refuses writes: out of memory (${message}); raise maxmemory, or use a volatile-* maxmemory-policy`;
  if (/^MISCONF\b/.test(message)) return `Redis refuses writes: its last snapshot failed (${message.slice(0, 120)})`;
  if (/^READONLY\b/.test(message)) return 'Redis refuses writes: this server is a read-only replica';
  if (/^NOPERM\b/.test(message))
    return `Redis refuses writes: the ACL user lacks a permission (${message}); see the least-privilege ACL in plugins/redis/README.md`;
  if (/Error running script|^ERR .*script|^BUSY\b/i.test(message)) return `Redis refuses writes: a script failed (${message.slice(0, 160)})`;
  return undefined;
}

/** An operator-facing explanation with the fix, never containing a secret. */
export function explainTrouble(trouble: RedisTrouble, detail: string, where: string): string {
  switch (trouble) {
    case 'tls':
      return `TLS to Redis at ${where} failed (${detail}); check REDIS_SSL_CA (the CA that signed the server certificate) and the server name — Palisade never falls back to plaintext`;
    case 'auth':
      return `Redis at ${where} refused the credentials (${detail.split('\n')[0]}); check REDIS_USERNAME and REDIS_PASSWORD`;
    case 'permission':
      return `the Redis ACL user lacks a permission (${detail}); see the least-privilege ACL in plugins/redis/README.md`;
    case 'sentinel-unreachable':
      return `no sentinel reachable (${detail})`;
    case 'sentinel-unknown-master':
      return `no sentinel knows master ${detail}; check REDIS_SENTINEL_MASTER`;
    case 'timeout':
      return `Redis at ${where} did not answer in time (${detail})`;
    case 'unreachable':
      return `Redis at ${where} is unreachable (${detail})`;
    case 'not-a-cluster':
      return `Redis at ${where} is not a cluster node (${detail.split('\n')[0]}); set REDIS_CLUSTER=no, or point REDIS_HOST / REDIS_CLUSTER_NODES at the cluster`;
    case 'readonly':
      return `Redis at ${where} is a read-only replica; reconnecting to find the master`;
    default:
      return `Redis at ${where}: ${detail}`;
  }
}
