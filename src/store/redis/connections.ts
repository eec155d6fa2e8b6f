import { EventEmitter } from 'node:events';
import calculateSlot from 'cluster-key-slot';
import type { Logger } from 'pino';
import { coded } from '../../errors.js';
import { describeError } from '../../log.js';
import type { RedisSettings } from '../../settings/types.generated.js';
import { CircuitBreaker } from './breaker.js';
import { CONFIG_TROUBLES, classifyRedisError, explainTrouble, troubleCode, writeRefusal, type RedisTrouble } from './failures.js';
import { createRedisClient, describeTarget, isCluster, usesSentinel, type ConnectionRole, type RedisClient } from './clients.js';
import { defineScripts, type ScriptedRedis } from './scripts.js';

/** Consecutive request-path failures that open the breaker. */
export const BREAKER_FAILURES = 5;
/** Interval of the half-open probe while the breaker is open. */
export const BREAKER_PROBE_MS = 500;
/** Shortest interval between two slot-map refreshes asked for by failed calls (a failover takes longer than this to show). */
const MAP_REFRESH_MS = 250;

/** The kinds of writes whose refusals are tracked apart (see {@link RedisConnections.writeFailed}). */
export type WriteKind = 'heartbeat' | 'bans' | 'audit';

/** A request-path call found Redis unusable; the caller falls back to local state. */
export class RedisUnavailable extends Error {
  /** The command was never sent: nothing of it reached Redis (see `neverReached` in counters.ts). */
  readonly unsent = true;

  constructor(reason: string) {
    super(reason);
    this.name = 'RedisUnavailable';
  }
}

/** The state of the connections as health checks, metrics and the admin API see it. */
export interface RedisHealth {
  mode: 'standalone' | 'sentinel' | 'cluster';
  /** At least one pool connection is ready, the breaker is closed and Redis takes writes. */
  up: boolean;
  /** Why Redis refuses writes (OOM, read-only, permission, script), while it does. */
  writesRefused: string | undefined;
  breakerOpen: boolean;
  poolSize: number;
  poolReady: number;
  /** `host:port` of the server the pool talks to, when known. */
  master: string | undefined;
  failovers: number;
  /** The last trouble, explained (no secrets). */
  lastError: string | undefined;
}

/** How the first connection attempt ended (boot decides from it). */
export type FirstConnect =
  | { state: 'ready' }
  | { state: 'config-error'; trouble: RedisTrouble; message: string }
  /** No answer within the time given, or (a single server) the connection was refused: waiting longer would not change the boot. */
  | { state: 'timeout' | 'unreachable'; message: string };

type Listener = {
  /** The pool, the stream reader or background work became (un)usable. */
  change: [health: RedisHealth];
  /** The server behind the pool changed (failover or restart): state may need a resync. */
  master: [address: string, previous: string | undefined];
};

/**
 * Every Redis connection of a node: a round-robin pool of `REDIS_KEEPALIVE_POOL`
 * request-path connections (command timeout `REDIS_REQUEST_TIMEOUT`), plus dedicated
 * connections (`background` with `REDIS_TIMEOUT`, `stream` without a timeout for blocking
 * reads). A circuit breaker keeps the request path off a failing Redis.
 */
export class RedisConnections extends EventEmitter<Listener> {
  private readonly pool: RedisClient[] = [];
  private readonly dedicated = new Map<ConnectionRole, RedisClient>();
  private cursor = 0;
  private mapsRefreshedAt = 0;
  private failoverCount = 0;
  private masterAddress: string | undefined;
  private lastTrouble: { trouble: RedisTrouble; message: string; at: number } | undefined;
  private readonly sentinelTroubles = new Map<RedisClient, string[]>();
  private closed = false;
  /**
   * Refusals by the kind of write that met them (`heartbeat`: a plain SET, so Redis refuses
   * every write; `bans`, `audit`: a script or a key of theirs). Each kind is cleared only by
   * its own next accepted write, so one failing script cannot make the state flap.
   */
  private readonly refusals = new Map<WriteKind, string>();
  readonly breaker: CircuitBreaker;

  constructor(
    private readonly settings: Readonly<RedisSettings>,
    private readonly nodeName: string,
    private readonly log: Logger,
    /**
     * In a cluster, the key whose master counts as "the" master: when its slot moves to
     * another server (failover, resharding), listeners of `master` resync. The ban state's key.
     */
    private readonly watchedKey = '',
  ) {
    super();
    this.breaker = new CircuitBreaker({
      failureThreshold: BREAKER_FAILURES,
      probeIntervalMs: BREAKER_PROBE_MS,
      probe: async () => {
        const client = this.readyPoolClient();
        if (!client) throw new RedisUnavailable('no pool connection is ready');
        await client.ping();
      },
      onChange: (open, reason) => {
        if (open) this.log.warn(coded('PAL_REDIS_UNAVAILABLE', { reason }), 'redis circuit breaker open: store degraded, requests use local state');
        else this.log.info('redis circuit breaker closed: store shared again');
        this.emit('change', this.health());
      },
    });
    for (let i = 0; i < settings.REDIS_KEEPALIVE_POOL; i++) {
      this.pool.push(this.create(`pool-${i}`, settings.REDIS_REQUEST_TIMEOUT));
    }
  }

  /** Where the connections go, for logs: `host:port` or the sentinel master name. */
  get target(): string {
    return describeTarget(this.settings);
  }

  /** Starts connecting everything (returns at once). */
  connect(): void {
    for (const client of [...this.pool, ...this.dedicated.values()]) client.connect().catch(() => undefined);
  }

  /**
   * Waits for the pool's first connection, up to `timeoutMs`. A configuration error (TLS,
   * credentials, permissions) ends the wait early, since retrying cannot fix it.
   */
  firstConnect(timeoutMs: number): Promise<FirstConnect> {
    return new Promise((resolve) => {
      const done = (result: FirstConnect): void => {
        clearTimeout(timer);
        for (const client of this.pool) client.off('ready', onReady);
        this.off('change', onChange);
        resolve(result);
      };
      const onReady = (): void => done({ state: 'ready' });
      const onChange = (): void => {
        const last = this.lastTrouble;
        if (last && CONFIG_TROUBLES.has(last.trouble)) done({ state: 'config-error', trouble: last.trouble, message: last.message });
        // A single server that refused the connection has answered for now (its client keeps
        // trying in the background). Behind sentinels or cluster seeds, one refusal is not the
        // last word: another may answer.
        else if (last?.trouble === 'unreachable' && this.health().mode === 'standalone') done({ state: 'unreachable', message: last.message });
      };
      const timer = setTimeout(
        () => done({ state: 'timeout', message: this.lastTrouble?.message ?? `no answer from ${this.target} within ${timeoutMs}ms` }),
        timeoutMs,
      );
      if (this.readyPoolClient()) {
        done({ state: 'ready' });
        return;
      }
      for (const client of this.pool) client.once('ready', onReady);
      this.on('change', onChange);
      onChange();
    });
  }

  /** A dedicated connection for `role` (created and connected on first use). */
  dedicatedClient(role: 'background' | 'stream'): RedisClient {
    let client = this.dedicated.get(role);
    if (!client) {
      client = this.create(role, role === 'background' ? this.settings.REDIS_TIMEOUT : undefined);
      this.dedicated.set(role, client);
      if (!this.closed) client.connect().catch(() => undefined);
    }
    return client;
  }

  /**
   * Runs one request-path command on the next ready pool connection. Throws
   * {@link RedisUnavailable} at once when the breaker is open or no connection is ready —
   * the caller falls back to local state; never waits longer than the command timeout.
   */
  async run<T>(command: (client: ScriptedRedis) => Promise<T>, options: { evenIfRefusing?: boolean; budgeted?: boolean } = {}): Promise<T> {
    if (!this.breaker.allows()) throw new RedisUnavailable(this.breaker.reason || 'circuit breaker open');
    // Redis refusing plain writes would refuse these too: local state until the heartbeat is
    // taken again. A delete (which Redis takes even when out of memory) may still go. (In a
    // cluster the heartbeat speaks for one master only: each call finds out for itself.)
    const everything = this.refusals.get('heartbeat');
    if (everything !== undefined && !options.evenIfRefusing && !this.settings.REDIS_CLUSTER) throw new RedisUnavailable(everything);
    const client = this.readyPoolClient();
    if (!client) {
      this.breaker.failure('no pool connection is ready');
      throw new RedisUnavailable('no pool connection is ready');
    }
    try {
      // `budgeted`: the command keeps to the budget itself (per master, in a cluster).
      const result = await (isCluster(client) && !options.budgeted ? this.withinBudget(command(client as ScriptedRedis)) : command(client as ScriptedRedis));
      this.breaker.success();
      return result;
    } catch (error) {
      // A Redis reply error (WRONGTYPE) is an answer, not an outage; a refused write is neither.
      const trouble = classifyRedisError(error as Error);
      if (trouble !== 'other') this.breaker.failure(describeError(error));
      throw error;
    }
  }

  /**
   * A cluster client retries a command by itself while a master fails over (it waits for the
   * new slot map): the request path stops waiting at `REDIS_REQUEST_TIMEOUT` instead, like a
   * single server's command timeout, and goes on with local state. `deadline` (epoch ms):
   * what is left of a budget several calls in a row share, instead of a whole one each.
   */
  withinBudget<T>(pending: Promise<T>, deadline?: number): Promise<T> {
    const budget = deadline === undefined ? this.settings.REDIS_REQUEST_TIMEOUT : Math.max(0, deadline - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`Command timed out after ${budget}ms (cluster)`), { code: 'ETIMEDOUT' })), budget);
    });
    pending.catch(() => undefined); // answered after the budget: nobody waits for it any more
    return Promise.race([pending, late])
      .catch((error: unknown) => {
        this.refreshStaleMaps();
        throw error;
      })
      .finally(() => clearTimeout(timer));
  }

  /**
   * A write came back with an error: when it is a refusal (see {@link writeRefusal}) the
   * store is degraded from now on, said once in the log, until a write is accepted.
   */
  writeFailed(kind: WriteKind, error: Error): void {
    const reason = writeRefusal(error);
    if (reason === undefined || this.refusals.get(kind) === reason || this.closed) return;
    const first = this.refusals.size === 0;
    this.refusals.set(kind, reason);
    if (first) this.log.warn(coded('PAL_REDIS_UNAVAILABLE', { reason, write: kind }), 'redis refuses writes: store degraded, requests use local state');
    this.emit('change', this.health());
  }

  /** A write of `kind` was accepted: its refusal is over (the store is shared again once none is left). */
  writeAccepted(kind: WriteKind): void {
    if (!this.refusals.delete(kind)) return;
    if (this.refusals.size === 0) this.log.info('redis accepts writes again: store shared');
    this.emit('change', this.health());
  }

  /**
   * After a failed cluster call: a pool connection whose slot map names a master it holds no
   * ready connection to (one killed, say) reads the map again now (at most every
   * {@link MAP_REFRESH_MS}). ioredis would do it only at its next periodic refresh, seconds
   * later, since a call that timed out does not make it; until then that master's calls would
   * go to a server that is gone and wait out the budget each. A master that is up but slow or
   * refusing costs no refresh.
   */
  private refreshStaleMaps(): void {
    const now = Date.now();
    if (this.closed || now - this.mapsRefreshedAt < MAP_REFRESH_MS) return;
    this.mapsRefreshedAt = now;
    for (const client of this.pool) {
      if (isCluster(client) && client.status === 'ready' && client.nodes('master').some((node) => node.status !== 'ready')) client.refreshSlotsCache();
    }
  }

  /** The next ready pool connection, round-robin; undefined when none is ready. */
  readyPoolClient(): RedisClient | undefined {
    for (let i = 0; i < this.pool.length; i++) {
      const client = this.pool[(this.cursor + i) % this.pool.length]!;
      if (client.status === 'ready') {
        this.cursor = (this.cursor + i + 1) % this.pool.length;
        return client;
      }
    }
    return undefined;
  }

  /** Master changes seen since start: the epoch of what a master granted (see counters.ts). */
  get failovers(): number {
    return this.failoverCount;
  }

  health(): RedisHealth {
    const poolReady = this.pool.filter((c) => c.status === 'ready').length;
    return {
      mode: this.settings.REDIS_CLUSTER ? 'cluster' : usesSentinel(this.settings) ? 'sentinel' : 'standalone',
      up: poolReady > 0 && !this.breaker.isOpen && this.refusals.size === 0,
      writesRefused: this.refusals.values().next().value,
      breakerOpen: this.breaker.isOpen,
      poolSize: this.pool.length,
      poolReady,
      master: this.masterAddress,
      failovers: this.failoverCount,
      lastError: this.lastTrouble?.message,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.breaker.stop();
    const clients = [...this.pool, ...this.dedicated.values()];
    await Promise.all(
      clients.map(async (client) => {
        // A TLS socket torn down mid-handshake can still emit an alert after ioredis let go
        // of it; without a listener that 'error' would crash the stopping process.
        const sockets = isCluster(client) ? client.nodes('all').map((node) => node.stream) : [client.stream];
        for (const socket of sockets) (socket as NodeJS.EventEmitter | undefined)?.on?.('error', () => undefined);
        try {
          if (client.status === 'ready') await client.quit();
          else client.disconnect();
        } catch {
          client.disconnect();
        }
      }),
    );
  }

  private create(role: ConnectionRole, commandTimeout: number | undefined): RedisClient {
    const client = createRedisClient(this.settings, this.nodeName, role, commandTimeout);
    // Scripts are defined on every connection; ioredis reloads them after NOSCRIPT.
    defineScripts(client);
    client.on('ready', () => this.onReady(client, role));
    // A cluster learns a new slot map on MOVED, on a failover and every few seconds: the
    // background client's map says who holds the watched key (one view, so no flapping
    // between clients that learnt a failover at different moments).
    if (isCluster(client) && role === 'background') client.on('refresh', () => this.trackMaster(client, role));
    client.on('error', (error: Error) => this.onError(client, role, error));
    client.on('sentinelError', (error: Error) => {
      const list = this.sentinelTroubles.get(client) ?? [];
      list.push(error.message);
      this.sentinelTroubles.set(client, list.slice(-8));
    });
    client.on('close', () => {
      if (!this.closed && role.startsWith('pool-') && !this.readyPoolClient()) {
        this.breaker.trip(this.lastTrouble?.message ?? `every pool connection to ${this.target} is down`);
      }
      if (!this.closed) this.emit('change', this.health());
    });
    return client;
  }

  private onReady(client: RedisClient, role: ConnectionRole): void {
    this.sentinelTroubles.delete(client);
    const address = this.trackMaster(client, role);
    if (role.startsWith('pool-') && this.lastTrouble) {
      this.log.info({ master: address }, 'redis reachable again');
      this.lastTrouble = undefined;
    }
    if (role.startsWith('pool-')) this.breaker.probeNow();
    this.emit('change', this.health());
  }

  /**
   * Notes the server behind the connections — a single server's pool, or in a cluster the
   * master of the watched key as the background client sees it — and emits `master` when it
   * changed. Returns the address.
   */
  private trackMaster(client: RedisClient, role: ConnectionRole): string | undefined {
    const address = this.serverOf(client);
    const tracks = isCluster(client) ? role === 'background' : role.startsWith('pool-');
    if (address && tracks && address !== this.masterAddress) {
      const previous = this.masterAddress;
      this.masterAddress = address;
      if (previous !== undefined) {
        this.failoverCount++;
        this.log.warn({ previous, master: address }, 'redis master changed');
      } else {
        this.log.info({ master: address, target: this.target }, 'redis connected');
      }
      this.emit('master', address, previous);
    }
    return address;
  }

  /** How long a request may wait on Redis (`REDIS_REQUEST_TIMEOUT`, ms). */
  get requestBudgetMs(): number {
    return this.settings.REDIS_REQUEST_TIMEOUT;
  }

  /** The server a dedicated connection talks to now (`host:port`; in a cluster, the master of the watched key). */
  serverOfRole(role: 'background' | 'stream'): string | undefined {
    return this.serverOf(this.dedicatedClient(role));
  }

  /** `host:port` of the server `client` writes to: its own, or in a cluster the master of the watched key's slot. */
  private serverOf(client: RedisClient): string | undefined {
    if (isCluster(client)) return client.slots[calculateSlot(this.watchedKey)]?.[0];
    const stream = client.stream as { remoteAddress?: string; remotePort?: number } | undefined;
    return stream?.remoteAddress ? `${stream.remoteAddress}:${stream.remotePort}` : undefined;
  }

  private onError(client: RedisClient, role: ConnectionRole, reported: Error): void {
    // A cluster client reports "Failed to refresh slots cache"; the node's own answer says why.
    const error = (reported as { lastNodeError?: Error }).lastNodeError ?? reported;
    let trouble = classifyRedisError(error);
    let detail = describeError(error);
    if (trouble === 'sentinel-unreachable') {
      const seen = this.sentinelTroubles.get(client) ?? [];
      this.sentinelTroubles.delete(client);
      // Sentinels that answered but do not monitor the master: Redis 7 says "No such master",
      // older ones reply null ("invalid reply").
      const unknown = seen.filter((m) => m.includes('invalid reply') || /No such master/i.test(m));
      if (unknown.length > 0) {
        trouble = 'sentinel-unknown-master';
        detail = `"${this.settings.REDIS_SENTINEL_MASTER}" (asked ${unknown.map((m) => /sentinel (\S+)/.exec(m)?.[1]).join(', ')})`;
      } else {
        detail = seen.map((m) => m.replace(/^failed to connect to sentinel /, '')).join('; ') || detail;
      }
    }
    const message = explainTrouble(trouble, detail, this.target);
    const now = Date.now();
    const repeated = this.lastTrouble?.message === message && now - this.lastTrouble.at < 30_000;
    this.lastTrouble = { trouble, message, at: repeated ? this.lastTrouble!.at : now };
    if (!repeated && !this.closed) {
      this.log.warn(coded(troubleCode(trouble), { role, trouble }), message);
    }
    if (!this.closed) this.emit('change', this.health());
  }
}
