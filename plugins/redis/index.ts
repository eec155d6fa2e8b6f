import { definePlugin, loadManifest } from '../../src/plugin/define.js';
import type { RedisSettings } from '../../src/settings/types.generated.js';
import { collectAfterBulkLoad } from '../../src/memory.js';
import { checkRedisSettings, deriveRedisSettings } from './settings.js';

/**
 * The redis plugin: owns the `REDIS_*` settings and the admin routes, and wires the Redis
 * backend (`src/store/redis/backend.ts`) into the node: shares the store through it and
 * schedules its jobs. Boot fails only on configuration errors (TLS, credentials, ACL
 * permissions); an unreachable Redis starts the node degraded.
 */
export default definePlugin<RedisSettings>({
  manifest: loadManifest('redis'),
  deriveSettings: deriveRedisSettings,
  checkSettings: checkRedisSettings,
  async provision(ctx) {
    // The node's Redis connections live in one process, whatever WORKERS is.
    if (!ctx.duties.node) return {};
    const settings = ctx.settings;
    // Loaded here, not at the top: a node without Redis, and every worker, never loads the client.
    const [{ createRedisBackend }, { redisRoutes }] = await Promise.all([import('../../src/store/redis/backend.js'), import('./routes.js')]);
    const backend = await createRedisBackend({
      settings,
      nodeName: ctx.nodeName,
      log: ctx.log,
      registry: ctx.metrics,
      auditLength: ctx.settings.AUDIT_LOG_LENGTH,
    });
    ctx.onClose(() => backend.close());
    ctx.shareStore((local) => backend.share(local));
    for (const job of backend.jobs()) ctx.every(job.intervalMs, job.run, { name: job.name, leader: job.leader, immediate: job.immediate });
    // Serve with the shared ban set: wait (a bounded time) for the first load before listening.
    if (backend.connections.health().up) {
      if (!(await backend.loaded(settings.REDIS_TIMEOUT))) {
        ctx.log.warn({ waitedMs: settings.REDIS_TIMEOUT }, 'shared bans not loaded yet: not ready until they are (or a STATE_DIR snapshot holds them)');
      } else {
        // Nothing listens yet: the pause costs no request, and the load's garbage goes back.
        collectAfterBulkLoad(ctx.store.bans.count());
      }
    }
    return { routes: redisRoutes(backend, settings) };
  },
});
