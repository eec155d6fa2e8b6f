import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { PalisadeError, coded } from '../../errors.js';
import { describeError } from '../../log.js';
import type { RedisSettings } from '../../settings/types.generated.js';
import { HEARTBEAT_MS } from '../cluster-view.js';
import { RedisAudit } from './audit.js';
import { RedisBanSync } from './ban-sync.js';
import { createDoctorClient, type RedisClient } from './clients.js';
import { RedisConnections } from './connections.js';
import { RedisCounters } from './counters.js';
import { troubleCode } from './failures.js';
import { snapshotFromInfo, type RedisInfoSnapshot } from './info.js';
import { RedisKeys } from './keys.js';
import { RedisMetrics } from './metrics.js';
import { NodeReports } from './node-reports.js';
import { checkPermissions, describePermissionReport } from './permissions.js';
import { registerRedisMetrics, type RedisMetrics as CommandMetrics } from './prometheus.js';
import type { ScriptedRedis } from './scripts.js';
import { RedisLocks } from './locks.js';
import { RedisSessions } from './sessions.js';
import type { LocalState, SharedBackend } from '../shared-backend.js';

/** The longest the cluster view waits on Redis before answering from the last read. */
const ADMIN_READ_MS = 1_000;
/** How often Redis-side gauges are read from INFO. */
export const INFO_INTERVAL_MS = 15_000;
/** How often the leader removes expired bans from Redis. */
export const SWEEP_MS = 30_000;
/** Most ban changes kept for replay while Redis is away (the node keeps them all anyway). */
export const JOURNAL_LIMIT = 100_000;

export interface RedisBackendOptions {
  settings: Readonly<RedisSettings>;
  nodeName: string;
  log: Logger;
  /** Where the backend's gauges and command histogram are registered. */
  registry: Registry;
  /** Entries the shared audit trail keeps (`AUDIT_LOG_LENGTH`). */
  auditLength: number;
}

/** Periodic work of the backend, for the caller's scheduler (non-overlapping runs). */
export interface RedisJob {
  name: string;
  intervalMs: number;
  /** Run by one node of the cluster at a time (the lease holder). */
  leader: boolean;
  immediate: boolean;
  run(): Promise<void>;
}

/** Resolves true once `client` is ready (at once if it is), false after `timeoutMs`. */
function readyWithin(client: RedisClient, timeoutMs: number): Promise<boolean> {
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

/**
 * The node's shared state in Redis — standalone or behind Sentinel — behind the store's
 * {@link SharedBackend} seam: the connections, the ban sync, counters, sessions, audit,
 * metrics and leases, the heartbeat and the sweeps. Create it with {@link createRedisBackend},
 * {@link share} it with the node's store, schedule its {@link jobs}, {@link close} it.
 */
export class RedisBackend {
  readonly keys: RedisKeys;
  private info: RedisInfoSnapshot | undefined;
  private bans: RedisBanSync | undefined;
  private local: LocalState | undefined;
  private nodeReports: NodeReports | undefined;
  private readonly beatOnReady = (): void => void this.heartbeat().catch(() => undefined);
  private readonly commandMetrics: CommandMetrics;

  private constructor(
    readonly connections: RedisConnections,
    private readonly options: RedisBackendOptions,
  ) {
    this.keys = new RedisKeys(options.settings.REDIS_KEY_PREFIX, options.settings.REDIS_CLUSTER);
    this.commandMetrics = registerRedisMetrics(
      options.registry,
      connections,
      () => this.info,
      () => this.nodeReports,
    );
  }

  /**
   * Connects (waiting up to `REDIS_TIMEOUT`) and checks the ACL. Throws a coded
   * {@link PalisadeError} on a configuration mistake (TLS, credentials, permissions);
   * an unreachable Redis is not one: the backend starts degraded and catches up.
   */
  static async create(options: RedisBackendOptions): Promise<RedisBackend> {
    const { settings, log, nodeName } = options;
    if (settings.REDIS_SSL && !settings.REDIS_SSL_VERIFY) {
      log.warn(coded('PAL_REDIS_TLS'), 'REDIS_SSL_VERIFY=no: the Redis server certificate is not verified; anyone on the path can impersonate it');
    }
    // In a cluster, "the master" is the one holding the ban state: its change means a resync.
    const connections = new RedisConnections(settings, nodeName, log, new RedisKeys(settings.REDIS_KEY_PREFIX, settings.REDIS_CLUSTER).banIndex);
    const backend = new RedisBackend(connections, options);
    const background = connections.dedicatedClient('background');
    connections.connect();
    try {
      const first = await connections.firstConnect(settings.REDIS_TIMEOUT);
      if (first.state === 'config-error') throw new PalisadeError(troubleCode(first.trouble), first.message);
      if (first.state === 'ready') {
        // On the background connection (REDIS_TIMEOUT), not the pool's tens-of-ms budget: a
        // slow first answer must not fail the boot. Only a real NOPERM does.
        let problem: string | undefined;
        try {
          if (await readyWithin(background, settings.REDIS_TIMEOUT)) {
            await backend.checkMode();
            problem = await backend.checkAcl();
          }
        } catch (error) {
          if (error instanceof PalisadeError) throw error;
          log.warn({ err: describeError(error) }, 'redis permission check could not run; retried when the master changes');
        }
        if (problem) throw new PalisadeError('PAL_REDIS_PERMISSION', problem);
      } else {
        // A cluster client whose user may not run CLUSTER INFO never becomes ready, and says
        // nothing: ask one node directly, so a missing permission stops the boot with its fix.
        if (settings.REDIS_CLUSTER) {
          const problem = await backend.checkSeedAcl().catch(() => undefined);
          if (problem) throw new PalisadeError('PAL_REDIS_PERMISSION', problem);
        }
        log.warn(coded('PAL_REDIS_UNAVAILABLE', { reason: first.message }), 'redis not reachable at start: running degraded on local state until it is');
      }
      // A later master (failover, or Redis reached after a degraded start) gets the same
      // check; it cannot stop a running node, so it is logged loudly instead.
      connections.on('master', (address, previous) => {
        if (previous === undefined && first.state === 'ready') return; // checked at boot
        void readyWithin(background, settings.REDIS_TIMEOUT)
          .then((ready) => (ready ? backend.checkAcl() : undefined))
          .then(
            (problem) => problem && log.error(coded('PAL_REDIS_PERMISSION', { master: address }), problem),
            (error: unknown) => log.warn({ err: describeError(error) }, 'redis permission check failed'),
          );
      });
    } catch (error) {
      await connections.close();
      throw error;
    }
    return backend;
  }

  /** Server facts from the last `INFO` (undefined while Redis is not reachable). */
  get serverInfo(): RedisInfoSnapshot | undefined {
    return this.info;
  }

  /** Records one request-path command in the metrics (the admin ping uses it). */
  observe(command: string, seconds: number, outcome: 'ok' | 'error' | 'unavailable'): void {
    this.commandMetrics.command(command, seconds, outcome);
  }

  /** Starts keeping the node's state in step with Redis; the store calls it once, at attach. */
  share(local: LocalState): SharedBackend {
    const { settings, log, nodeName } = this.options;
    const connections = this.connections;
    const background = connections.dedicatedClient('background') as ScriptedRedis;
    const bans = new RedisBanSync(connections, this.keys, local.bans, log, {
      streamLength: settings.REDIS_BAN_STREAM_LENGTH,
      journalLimit: JOURNAL_LIMIT,
      onResynced: () => void local.reassertAudit(),
      onPropagated: (seconds) => this.commandMetrics.propagated(seconds),
      onResync: (cause) => this.commandMetrics.resynced(cause),
    });
    const nodeReports = new NodeReports(
      () => background,
      this.keys,
      () => bans.redisNow(),
    );
    this.bans = bans;
    this.local = local;
    this.nodeReports = nodeReports;
    bans.start();
    // A new master (failover, restart) learns about this node at once, not a beat later.
    background.on('ready', this.beatOnReady);
    const keys = this.keys;
    const counters = new RedisCounters(connections, keys, (command, seconds, outcome) => this.commandMetrics.command(command, seconds, outcome), log);
    // A new master may not have the last grants of the old one: they are charged again.
    connections.on('master', (_address, previous) => {
      if (previous !== undefined) counters.masterChanged();
    });
    const shared: SharedBackend = {
      health() {
        const health = connections.health();
        if (health.up) return { mode: 'shared' };
        const waiting = bans.pending > 0 ? `; ${bans.pending} ban change(s) waiting for Redis` : '';
        const why =
          health.writesRefused ??
          health.lastError ??
          (health.breakerOpen ? `circuit breaker open: ${connections.breaker.reason}` : 'no Redis connection ready');
        return { mode: 'degraded', detail: `${why}${waiting}` };
      },
      publishBan: (change) => bans.publish(change),
      isBanPending: (target) => bans.isPending(target),
      bansLoaded: () => bans.hasLoaded,
      counters,
      sessions: new RedisSessions(connections, keys),
      audit: new RedisAudit(connections, keys, this.options.auditLength),
      metrics: new RedisMetrics(connections, keys, nodeName),
      locks: new RedisLocks(background, keys),
      cluster: {
        agreement: () => bans.agreement(),
        liveNodes: () => nodeReports.liveNodes,
        reports: async () => ({ reports: await nodeReports.latest(ADMIN_READ_MS), redis: bans.redisState ?? null, now: bans.redisNow() }),
      },
    };
    return shared;
  }

  /** Resolves true once the node holds the shared ban set, false after `timeoutMs`. */
  loaded(timeoutMs: number): Promise<boolean> {
    return this.bans ? this.bans.loaded(timeoutMs) : Promise.resolve(false);
  }

  /** The backend's periodic work (after {@link share}). */
  jobs(): RedisJob[] {
    const background = this.connections.dedicatedClient('background') as ScriptedRedis;
    const keys = this.keys;
    return [
      {
        name: 'redis.info',
        intervalMs: INFO_INTERVAL_MS,
        leader: false,
        immediate: true,
        run: async () => {
          // Stale figures would look like a healthy Redis.
          if (background.status !== 'ready') {
            this.info = undefined;
            return;
          }
          const asked = Date.now();
          this.info = snapshotFromInfo(await background.info());
          // Redis's clock, for the propagation lag: half the round trip taken off.
          if (this.info.serverTimeMs !== undefined) this.bans?.setClockOffset(this.info.serverTimeMs - (asked + this.info.readAt) / 2);
        },
      },
      { name: 'redis.heartbeat', intervalMs: HEARTBEAT_MS, leader: false, immediate: true, run: () => this.heartbeat() },
      {
        name: 'redis.ban-sweep',
        intervalMs: SWEEP_MS,
        leader: true,
        immediate: false,
        run: async () => {
          if (background.status !== 'ready') return;
          this.local?.expired(await background.palisadeBanSweep(keys.banIndex, keys.tombstoneIndex, keys.banDigest, keys.banRecordPrefix, 1_000));
        },
      },
      // Records Redis lost (evicted, deleted) while the nodes hold them are put back by one node.
      { name: 'redis.ban-verify', intervalMs: HEARTBEAT_MS, leader: true, immediate: false, run: async () => void (await this.bans?.verifyRecords()) },
    ];
  }

  /** Stops the ban stream reader, then closes every connection. */
  async close(): Promise<void> {
    this.connections.dedicatedClient('background').off('ready', this.beatOnReady);
    await this.bans?.stop();
    await this.connections.close();
  }

  /**
   * The heartbeat, which is also the write probe: a refused heartbeat (OOM, read-only,
   * permission) degrades the store, an accepted one ends a refusal. Then the ban journal
   * and the audit entries Redis has not taken yet.
   */
  private async heartbeat(): Promise<void> {
    const background = this.connections.dedicatedClient('background');
    if (background.status !== 'ready') return;
    const nodeName = this.options.nodeName;
    try {
      await background.set(this.keys.node(nodeName), JSON.stringify({ node: nodeName, at: Date.now() }), 'PX', HEARTBEAT_MS * 3);
      this.connections.writeAccepted('heartbeat');
    } catch (error) {
      this.connections.writeFailed('heartbeat', error as Error);
    }
    // Each step on its own: one failing does not keep the others from running.
    await this.bans?.check().catch((error: unknown) => this.options.log.debug({ err: describeError(error) }, 'ban check failed; tried again at the next beat'));
    if (this.local)
      await this.nodeReports
        ?.beat(this.local.report())
        .catch((error: unknown) => this.options.log.debug({ err: describeError(error) }, 'node report not written; tried again at the next beat'));
    await this.local?.flushAudit();
  }

  /**
   * A cluster node reached as a single server answers `MOVED` for most keys: bans would
   * never reach the other nodes. Refused at boot with the fix.
   */
  private async checkMode(): Promise<void> {
    if (this.options.settings.REDIS_CLUSTER) return;
    let info: string;
    try {
      info = await this.connections.dedicatedClient('background').info('cluster');
    } catch {
      return; // INFO not allowed: the ACL check says so
    }
    if (/^cluster_enabled:1/m.test(info)) {
      throw new PalisadeError(
        'PAL_REDIS_CLUSTER',
        `Redis at ${this.connections.target} is a Redis Cluster node: set REDIS_CLUSTER=yes (the other nodes are found from it, or list them in REDIS_CLUSTER_NODES)`,
      );
    }
  }

  /** The ACL probe on the first cluster seed, through a plain connection (see `create`). */
  private async checkSeedAcl(): Promise<string | undefined> {
    const client = createDoctorClient(this.options.settings, this.options.nodeName);
    try {
      await client.connect();
      const report = await checkPermissions(client, this.keys, this.options.nodeName);
      return report.missing.length > 0 || report.keysDenied ? describePermissionReport(report, this.options.settings.REDIS_USERNAME, this.keys) : undefined;
    } finally {
      client.disconnect();
    }
  }

  private async checkAcl(): Promise<string | undefined> {
    const report = await checkPermissions(this.connections.dedicatedClient('background'), this.keys, this.options.nodeName);
    return report.missing.length > 0 || report.keysDenied ? describePermissionReport(report, this.options.settings.REDIS_USERNAME, this.keys) : undefined;
  }
}

/** Creates the Redis backend (see {@link RedisBackend.create}). */
export function createRedisBackend(options: RedisBackendOptions): Promise<RedisBackend> {
  return RedisBackend.create(options);
}
