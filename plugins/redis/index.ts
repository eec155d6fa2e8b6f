import type { Redis } from 'ioredis';
import { PalisadeError, coded, type ErrorCode } from '../../src/errors.js';
import { describeError } from '../../src/log.js';
import { definePlugin, loadManifest } from '../../src/plugin/define.js';
import type { AdminRoute } from '../../src/plugin/types.js';
import type { LocalState } from '../../src/store/types.js';
import type { RedisSettings } from '../../src/settings/types.generated.js';
import { RedisConnections, RedisUnavailable } from '../../src/store/redis/connections.js';
import { snapshotFromInfo, type RedisInfoSnapshot } from '../../src/store/redis/info.js';
import { RedisKeys } from '../../src/store/redis/keys.js';
import { RedisBanSync } from '../../src/store/redis/ban-sync.js';
import { RedisAudit } from '../../src/store/redis/audit.js';
import { RedisCounters } from '../../src/store/redis/counters.js';
import { RedisMetrics } from '../../src/store/redis/metrics.js';
import { RedisSessions } from '../../src/store/redis/sessions.js';
import { checkPermissions, describePermissionReport } from '../../src/store/redis/permissions.js';
import type { ScriptedRedis } from '../../src/store/redis/scripts.js';
import { registerRedisMetrics } from './metrics.js';
import { checkRedisSettings, deriveRedisSettings } from './settings.js';

/** How often a node writes its heartbeat; the key lives three beats. */
export const HEARTBEAT_MS = 2_000;
/** How often Redis-side gauges are read from INFO. */
export const INFO_INTERVAL_MS = 15_000;
/** How often the leader removes expired bans from Redis. */
export const SWEEP_MS = 30_000;
/** Most ban changes kept for replay while Redis is away (the ledger keeps them all anyway). */
export const JOURNAL_LIMIT = 100_000;

/** Resolves true once `client` is ready (at once if it is), false after `timeoutMs`. */
function readyWithin(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ready);
    };
    const onReady = (): void => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.on('ready', onReady);
  });
}

const TROUBLE_CODES: Record<string, ErrorCode> = { tls: 'PAL_REDIS_TLS', auth: 'PAL_REDIS_AUTH', permission: 'PAL_REDIS_PERMISSION' };

/**
 * The redis plugin: owns every Redis setting and connection, shares the node's state
 * through them, and reports their health. Boot fails only on configuration errors (TLS,
 * credentials, ACL permissions); an unreachable Redis starts the node degraded.
 */
export default definePlugin<RedisSettings>({
  manifest: loadManifest('redis'),
  deriveSettings: deriveRedisSettings,
  checkSettings: checkRedisSettings,
  async provision(ctx) {
    const settings = ctx.settings;
    const keys = new RedisKeys(settings.REDIS_KEY_PREFIX);
    if (settings.REDIS_SSL && !settings.REDIS_SSL_VERIFY) {
      ctx.log.warn(coded('PAL_REDIS_TLS'), 'REDIS_SSL_VERIFY=no: the Redis server certificate is not verified; anyone on the path can impersonate it');
    }
    const connections = new RedisConnections(settings, ctx.nodeName, ctx.log);
    ctx.onClose(() => connections.close());
    const background = connections.dedicatedClient('background');
    connections.connect();

    const checkAcl = async (client: Redis): Promise<string | undefined> => {
      const report = await checkPermissions(client, keys, ctx.nodeName);
      return report.missing.length > 0 || report.keysDenied ? describePermissionReport(report, settings.REDIS_USERNAME, keys) : undefined;
    };

    const first = await connections.firstConnect(settings.REDIS_TIMEOUT);
    if (first.state === 'config-error') throw new PalisadeError(TROUBLE_CODES[first.trouble] ?? 'PAL_REDIS_UNAVAILABLE', first.message);
    if (first.state === 'ready') {
      // On the background connection (REDIS_TIMEOUT), not the pool's tens-of-ms budget: a
      // slow first answer must not fail the boot. Only a real NOPERM does.
      let problem: string | undefined;
      try {
        if (await readyWithin(background, settings.REDIS_TIMEOUT)) problem = await checkAcl(background);
      } catch (error) {
        ctx.log.warn({ err: describeError(error) }, 'redis permission check could not run; retried when the master changes');
      }
      if (problem) throw new PalisadeError('PAL_REDIS_PERMISSION', problem);
    } else {
      ctx.log.warn(coded('PAL_REDIS_UNAVAILABLE', { reason: first.message }), 'redis not reachable at start: running degraded on local state until it is');
    }
    // A later master (failover, or Redis reached after a degraded start) gets the same check;
    // it cannot stop a running node, so it is logged loudly instead.
    connections.on('master', (address, previous) => {
      if (previous === undefined && first.state === 'ready') return; // checked at boot
      void readyWithin(background, settings.REDIS_TIMEOUT)
        .then((ready) => (ready ? checkAcl(background) : undefined))
        .then(
          (problem) => problem && ctx.log.error(coded('PAL_REDIS_PERMISSION', { master: address }), problem),
          (error: unknown) => ctx.log.warn({ err: describeError(error) }, 'redis permission check failed'),
        );
    });

    let info: RedisInfoSnapshot | undefined;
    const readInfo = async (): Promise<void> => {
      if (background.status !== 'ready') {
        info = undefined; // stale figures would look like a healthy Redis
        return;
      }
      info = snapshotFromInfo(await background.info());
    };
    ctx.every(INFO_INTERVAL_MS, readInfo, { name: 'redis.info', immediate: true });
    const heartbeat = async (): Promise<void> => {
      if (background.status !== 'ready') return;
      // Also the write probe: a refused heartbeat (OOM, read-only, permission) degrades the
      // store, an accepted one ends a refusal.
      try {
        await background.set(keys.node(ctx.nodeName), JSON.stringify({ node: ctx.nodeName, at: Date.now() }), 'PX', HEARTBEAT_MS * 3);
        connections.writeAccepted();
      } catch (error) {
        connections.writeFailed(error as Error);
      }
      await bans?.check();
      await local?.flushAudit();
    };
    ctx.every(HEARTBEAT_MS, heartbeat, { name: 'redis.heartbeat', immediate: true });
    // A new master (failover, restart) learns about this node at once, not a beat later.
    const beatNow = (): void => void heartbeat().catch(() => undefined);
    background.on('ready', beatNow);
    ctx.onClose(() => void background.off('ready', beatNow));

    const metrics = registerRedisMetrics(ctx.metrics, connections, () => info);
    let bans: RedisBanSync | undefined;
    let local: LocalState | undefined;
    ctx.shareStore((state) => {
      local = state;
      bans = new RedisBanSync(connections, keys, state.ledger, ctx.log, {
        streamLength: settings.REDIS_BAN_STREAM_LENGTH,
        journalLimit: JOURNAL_LIMIT,
        onResynced: () => void state.reassertAudit(),
      });
      bans.start();
      return {
        health() {
          const health = connections.health();
          if (health.up) return { mode: 'shared' };
          const waiting = bans!.pending > 0 ? `; ${bans!.pending} ban change(s) waiting for Redis` : '';
          const why = health.writesRefused ?? health.lastError ?? (health.breakerOpen ? `circuit breaker open: ${connections.breaker.reason}` : 'no Redis connection ready');
          return { mode: 'degraded', detail: `${why}${waiting}` };
        },
        publishBan: (change) => bans!.publish(change),
        isBanPending: (target) => bans!.isPending(target),
        bansLoaded: () => bans!.hasLoaded,
        counters: new RedisCounters(connections, keys, (command, seconds, outcome) => metrics.command(command, seconds, outcome)),
        sessions: new RedisSessions(connections, keys),
        audit: new RedisAudit(connections, keys, settings.AUDIT_LOG_LENGTH),
        metrics: new RedisMetrics(connections, keys, ctx.nodeName),
        locks: {
          async acquire(name, token, ttlMs) {
            if (background.status !== 'ready') return false;
            return (await (background as ScriptedRedis).palisadeLockAcquire(keys.lock(name), token, ttlMs)) === 1;
          },
          async release(name, token) {
            if (background.status === 'ready') await (background as ScriptedRedis).palisadeLockRelease(keys.lock(name), token);
          },
        },
      };
    });
    // Registered after the connections' release, so it runs before it.
    ctx.onClose(() => bans?.stop());
    ctx.every(
      SWEEP_MS,
      async () => {
        if (background.status !== 'ready') return;
        const expired = await (background as ScriptedRedis).palisadeBanSweep(keys.banIndex, keys.tombstoneIndex, keys.banRecordPrefix, 1_000);
        local?.expired(expired);
      },
      { name: 'redis.ban-sweep', leader: true },
    );
    // Records Redis lost (evicted, deleted) while the nodes hold them are put back by one node.
    ctx.every(HEARTBEAT_MS, async () => void (await bans?.verifyRecords()), { name: 'redis.ban-verify', leader: true });
    // Serve with the shared ban set: wait (a bounded time) for the first load before listening.
    if (first.state === 'ready' && bans && !(await bans.loaded(settings.REDIS_TIMEOUT))) {
      ctx.log.warn({ waitedMs: settings.REDIS_TIMEOUT }, 'shared bans not loaded yet: not ready until they are (or a STATE_DIR snapshot holds them)');
    }

    const routes: AdminRoute[] = [
      {
        method: 'GET',
        path: '/ping',
        async handle() {
          const started = process.hrtime.bigint();
          try {
            await connections.run((client) => client.ping());
            const seconds = Number(process.hrtime.bigint() - started) / 1e9;
            metrics.command('ping', seconds, 'ok');
            return { json: { ok: true, ms: Math.round(seconds * 1e5) / 100, master: connections.health().master } };
          } catch (error) {
            metrics.command('ping', Number(process.hrtime.bigint() - started) / 1e9, error instanceof RedisUnavailable ? 'unavailable' : 'error');
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
              server: info,
            },
          };
        },
      },
    ];

    return { routes };
  },
});
