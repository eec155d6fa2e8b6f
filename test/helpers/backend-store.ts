import pino from 'pino';
import { Registry } from 'prom-client';
import { Scheduler } from '../../src/plugin/scheduler.js';
import { builtinPlugins } from '../../plugins/index.js';
import { settingsSpec } from '../../src/plugin/catalog.js';
import { loadSettings } from '../../src/settings/load.js';
import type { CoreSettings, RedisSettings } from '../../src/settings/types.generated.js';
import { createRedisBackend, type RedisBackend } from '../../src/store/redis/backend.js';
import { NodeStore } from '../../src/store/store.js';

/** A node's store with a Redis backend attached — no plugin host, no listener. */
export interface BackendStore {
  readonly store: NodeStore;
  readonly backend: RedisBackend;
  close(): Promise<void>;
}

/**
 * Builds what a node builds for its shared state, from `env` (the REDIS_* settings): the
 * store, the Redis backend shared with it, the backend's jobs on a scheduler (leader jobs
 * by lease, as on a node). Resolves once the shared bans are loaded (or after REDIS_TIMEOUT
 * when Redis is down).
 */
export async function startBackendStore(env: Record<string, string>): Promise<BackendStore> {
  // The contract's answers are under test, not the request budget: 50 ms (the default) turns a
  // call a loaded machine answers late into a local decision, and a contract case into a guess.
  const loaded = await loadSettings(settingsSpec(builtinPlugins), {
    USE_REDIS: 'yes',
    SESSIONS_SECRET: 'backend-store-sessions-secret-0123456789',
    REDIS_REQUEST_TIMEOUT: '2s',
    // The WAF's settings check compiles the CRS (over a second of CPU per store): not under test here.
    USE_MODSECURITY: 'no',
    ...env,
  });
  if (!loaded.ok) throw new Error(`bad test settings: ${JSON.stringify(loaded.errors)}`);
  const settings = loaded.settings as unknown as Readonly<CoreSettings & RedisSettings>;
  const log = pino({ level: 'silent' });
  const store = new NodeStore(settings.NODE_NAME, Date.now, settings.AUDIT_LOG_LENGTH);
  const backend = await createRedisBackend({ settings, nodeName: settings.NODE_NAME, log, registry: new Registry(), auditLength: settings.AUDIT_LOG_LENGTH });
  store.attach(backend.share(store.local), 'redis');
  const scheduler = new Scheduler(log, (job, intervalMs) => store.isLeader(job, intervalMs));
  for (const job of backend.jobs()) scheduler.every(job.intervalMs, job.run, { name: job.name, leader: job.leader, immediate: job.immediate });
  await backend.loaded(settings.REDIS_TIMEOUT);
  return {
    store,
    backend,
    async close() {
      scheduler.stop();
      await backend.close();
      await store.close();
    },
  };
}
