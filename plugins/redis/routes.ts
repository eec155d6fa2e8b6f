import { RedisUnavailable } from '../../src/store/redis/connections.js';
import type { ErrorCode } from '../../src/errors.js';
import { describeError } from '../../src/log.js';
import type { AdminRoute } from '../../src/plugin/types.js';
import type { RedisSettings } from '../../src/settings/types.generated.js';
import type { RedisBackend } from '../../src/store/redis/backend.js';

/** `/plugins/redis/ping` (one round trip through the pool) and `/plugins/redis/info` (connections and server facts, no secret). */
export function redisRoutes(backend: RedisBackend, settings: Readonly<RedisSettings>): AdminRoute[] {
  const connections = backend.connections;
  return [
    {
      method: 'GET',
      path: '/ping',
      async handle() {
        const started = process.hrtime.bigint();
        try {
          await connections.run((client) => client.ping());
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          backend.observe('ping', seconds, 'ok');
          return { json: { ok: true, ms: Math.round(seconds * 1e5) / 100, master: connections.health().master } };
        } catch (error) {
          backend.observe('ping', Number(process.hrtime.bigint() - started) / 1e9, error instanceof RedisUnavailable ? 'unavailable' : 'error');
          return { status: 503, json: { ok: false, error: describeError(error), code: 'PAL_REDIS_UNAVAILABLE' satisfies ErrorCode } };
        }
      },
    },
    {
      method: 'GET',
      path: '/info',
      async handle() {
        const health = connections.health();
        return {
          json: {
            mode: health.mode,
            target: connections.target,
            master: health.master,
            up: health.up,
            breakerOpen: health.breakerOpen,
            pool: { size: health.poolSize, ready: health.poolReady },
            failovers: health.failovers,
            lastError: health.lastError,
            database: settings.REDIS_DATABASE,
            tls: settings.REDIS_SSL ? { verify: settings.REDIS_SSL_VERIFY } : false,
            username: settings.REDIS_USERNAME || undefined,
            sentinels: settings.REDIS_SENTINEL_HOSTS.length > 0 ? { master: settings.REDIS_SENTINEL_MASTER, hosts: settings.REDIS_SENTINEL_HOSTS } : undefined,
            keyPrefix: settings.REDIS_KEY_PREFIX,
            server: backend.serverInfo,
          },
        };
      },
    },
  ];
}
