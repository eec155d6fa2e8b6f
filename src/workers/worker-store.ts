import type { AuditEntry, AuditFacet } from '../store/audit.js';
import { BanMembership } from '../store/ban-membership.js';
import { canonicalTarget } from '../net/ip.js';
import { Counters, type RemoteCounters } from '../store/counters.js';
import { Locks, type RemoteLocks } from '../store/locks.js';
import { ClusterMetrics, type RemoteMetrics } from '../store/metrics.js';
import { Sessions, type RemoteSessions } from '../store/sessions.js';
import type { Ban, BanChange, BanEntry, BanFacet, BanRequest, ClusterStore, ShareOptions, StoreHealth } from '../store/types.js';
import type { Channel } from './protocol.js';
import { collectAfterBulkLoad } from '../memory.js';
import { PrimaryLink } from './primary-link.js';

/** How often a worker hands its metric deltas and ban hit counts to the primary. */
const REPORT_MS = 1_000;
/**
 * Counters and sessions a worker keeps itself: the over-limit cache, and what it counts if
 * the primary does not answer. The node's store keeps the full amount.
 */
const WORKER_CACHE = 10_000;
/** How often expired entries are dropped from the worker's ban table. */
const SWEEP_MS = 30_000;

/**
 * A worker's store: the same facades as the node's, with the primary behind them instead of
 * Redis. Ban entries are pushed by the primary (a snapshot, then every change) and matched
 * here without a message; counters, sessions, locks, metrics and the audit trail are calls
 * to the primary, which holds the node's one store and its Redis connections.
 */
export class WorkerStore implements ClusterStore {
  readonly bans: ReplicaBans;
  readonly counters: Counters;
  readonly sessions: Sessions;
  readonly locks: Locks;
  readonly metrics: ClusterMetrics;
  readonly audit: AuditFacet;
  private readonly link: PrimaryLink;
  private lastHealth: StoreHealth;
  private readonly reporter: NodeJS.Timeout;
  private readonly sweeper: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  private loadedResolve!: () => void;
  /** Resolves once the primary has sent every ban it holds. */
  readonly loaded = new Promise<void>((resolve) => (this.loadedResolve = resolve));

  constructor(
    private readonly channel: Channel,
    health: StoreHealth,
    now: () => number = Date.now,
  ) {
    this.lastHealth = health;
    this.link = new PrimaryLink(channel, now);
    const link = this.link;
    this.bans = new ReplicaBans(link, now);
    const counters: RemoteCounters = {
      rate: (path, limit, periodMs, degraded = 'local') => link.call('rate', path, limit, periodMs, degraded),
      increment: (path, windowMs, by) => link.call('increment', path, windowMs, by),
      reset: async (path) => void (await link.call('reset', path)),
    };
    this.counters = new Counters(() => counters, now, WORKER_CACHE);
    const sessions: RemoteSessions = {
      get: async (id, touchIdleMs) => (await link.call('session.get', id, touchIdleMs ?? null)) ?? undefined,
      set: async (id, record, ttlMs) => void (await link.call('session.set', id, record, ttlMs)),
      destroy: async (id) => void (await link.call('session.destroy', id)),
    };
    this.sessions = new Sessions(() => sessions, now, WORKER_CACHE);
    const locks: RemoteLocks = {
      acquire: (name, token, ttlMs) => link.call('lock.acquire', name, token, ttlMs),
      release: async (name, token) => void (await link.call('lock.release', name, token)),
    };
    this.locks = new Locks(() => locks, now);
    const metrics: RemoteMetrics = {
      push: async (deltas) => void (await link.call('metrics.push', [...deltas])),
      totals: async () => new Map(await link.call('metrics.totals')),
    };
    this.metrics = new ClusterMetrics(() => metrics);
    this.audit = { list: (limit: number): Promise<AuditEntry[]> => link.call('audit.list', limit) };
    this.unsubscribe = channel.onMessage((message) => {
      switch (message.t) {
        case 'entries':
          for (const line of message.e.split('\n')) {
            const space = line.indexOf(' ');
            if (space === -1) continue;
            const expiry = line.slice(space + 1);
            this.bans.table.set(line.slice(0, space), expiry === '-' ? null : Number(expiry));
          }
          break;
        case 'loaded':
          collectAfterBulkLoad(this.bans.count());
          this.loadedResolve();
          break;
        case 'changes':
          for (const change of message.c) this.bans.applyPushed(change);
          break;
        case 'health':
          this.lastHealth = message.health;
          break;
      }
    });
    this.reporter = setInterval(() => this.report(), REPORT_MS);
    this.reporter.unref();
    this.sweeper = setInterval(() => this.bans.table.sweep(), SWEEP_MS);
    this.sweeper.unref();
    channel.send({ t: 'load' });
  }

  /** The store's health as the primary last reported it. */
  /** Whether the node holds its bans, as the primary last said (its health carries it). */
  holdsBans(): boolean {
    return this.lastHealth.bansLoading !== true;
  }

  health(): StoreHealth {
    return this.lastHealth;
  }

  /** Hands metric deltas and ban hits to the primary now (also every second by itself). */
  async report(): Promise<void> {
    const hits = this.bans.takeHits();
    if (hits.length > 0) this.link.post({ t: 'hits', h: hits });
    await this.metrics.flush();
  }

  async close(): Promise<void> {
    clearInterval(this.reporter);
    clearInterval(this.sweeper);
    this.unsubscribe();
    this.link.close();
  }
}

/**
 * A worker's ban facet: entries it matches locally; changes it makes are enforced here at
 * once and handed to the primary, whose store records, audits and shares them — and pushes
 * them back to every worker, this one included, which settles any difference.
 */
export class ReplicaBans implements BanFacet {
  readonly table: BanMembership;
  private readonly listeners = new Set<(change: BanChange) => void>();
  private hitCounts = new Map<string, number>();

  constructor(
    private readonly link: PrimaryLink,
    private readonly now: () => number,
  ) {
    this.table = new BanMembership(now);
  }

  match(ip: string): BanEntry | undefined {
    const entry = this.table.match(ip);
    if (entry) this.hitCounts.set(entry.target, (this.hitCounts.get(entry.target) ?? 0) + 1);
    return entry;
  }

  get(target: string): BanEntry | undefined {
    const canonical = canonicalTarget(target);
    return canonical === undefined ? undefined : this.table.get(canonical);
  }

  count(): number {
    return this.table.size;
  }

  async add(request: BanRequest, options: ShareOptions = {}): Promise<Ban> {
    const target = canonicalTarget(request.target);
    if (target !== undefined) this.table.set(target, request.durationMs > 0 ? this.now() + request.durationMs : null);
    return this.link.call('ban.add', request, options.waitMs ?? null);
  }

  async remove(target: string, actor: string, options: ShareOptions = {}): Promise<boolean> {
    const canonical = canonicalTarget(target);
    if (canonical !== undefined) this.table.delete(canonical);
    return this.link.call('ban.remove', target, actor, options.waitMs ?? null);
  }

  onChange(listener: (change: BanChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A change the primary applied: the entry follows it, listeners hear it. */
  applyPushed(change: BanChange): void {
    if (change.op === 'ban') this.table.set(change.ban.target, change.ban.expiresAt);
    else this.table.delete(change.tombstone.target);
    for (const listener of this.listeners) listener(change);
  }

  /** Hit counts since the last call, as `[target, hits]`. */
  takeHits(): Array<[string, number]> {
    if (this.hitCounts.size === 0) return [];
    const hits = [...this.hitCounts];
    this.hitCounts = new Map();
    return hits;
  }
}
