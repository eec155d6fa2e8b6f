import { collectAfterBulkLoad } from '../../memory.js';
import { canonicalTarget } from '../../net/ip.js';
import { TargetIndex } from '../target-index.js';
import { Counters } from '../counters.js';
import { Locks } from '../locks.js';
import { ClusterMetrics } from '../metrics.js';
import { Sessions } from '../sessions.js';
import type { Ban, BanChange, BanEntry, BanFacet, BanRequest, ClusterStore, ShareOptions, StoreHealth } from '../types.js';
import { PrimaryLink } from './primary-link.js';
import { decodeBanEntries, onStoreMessage, type Channel, type PrimaryRemotes } from './protocol.js';
import type { AuditFacet } from '../types.js';

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
    // Every facet the same facade as the node's, its remote part the primary's.
    this.bans = new ReplicaBans(link.remote('bans'), now);
    const counters = link.remote('counters');
    this.counters = new Counters(() => counters, now, WORKER_CACHE);
    const sessions = link.remote('sessions');
    this.sessions = new Sessions(() => sessions, now, WORKER_CACHE);
    const locks = link.remote('locks');
    this.locks = new Locks(() => locks, now);
    const metrics = link.remote('metrics');
    this.metrics = new ClusterMetrics(() => metrics);
    this.audit = link.remote('audit');
    this.unsubscribe = onStoreMessage(channel, (message) => {
      switch (message.t) {
        case 'entries':
          decodeBanEntries(message.e, (target, expiresAt) => this.bans.set(target, expiresAt));
          break;
        case 'loaded':
          collectAfterBulkLoad(this.bans.count());
          this.loadedResolve();
          break;
        case 'changes':
          for (const change of message.c) this.bans.applyPushed(change);
          channel.send({ t: 'applied', s: message.s });
          break;
        case 'health':
          this.lastHealth = message.health;
          break;
      }
    });
    this.reporter = setInterval(() => this.report(), REPORT_MS);
    this.reporter.unref();
    this.sweeper = setInterval(() => this.bans.sweep(), SWEEP_MS);
    this.sweeper.unref();
    channel.send({ t: 'load' });
  }

  /** Whether the node holds its bans, as the primary last said (its health carries it). */
  holdsBans(): boolean {
    return this.lastHealth.bansLoading !== true;
  }

  /** The store's health as the primary last reported it. */
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
  /** The banned targets, each with its expiry (`Infinity`: permanent). */
  private readonly index = new TargetIndex();
  private readonly listeners = new Set<(change: BanChange) => void>();
  private hitCounts = new Map<string, number>();

  constructor(
    private readonly primary: PrimaryRemotes['bans'],
    private readonly now: () => number,
  ) {}

  match(ip: string): BanEntry | undefined {
    const now = this.now();
    const hit = this.index.match(ip, (expiry) => expiry > now);
    if (!hit) return undefined;
    this.hitCounts.set(hit.target, (this.hitCounts.get(hit.target) ?? 0) + 1);
    return entry(hit.target, hit.value);
  }

  get(target: string): BanEntry | undefined {
    const canonical = canonicalTarget(target);
    const expiry = canonical === undefined ? undefined : this.index.get(canonical);
    return expiry !== undefined && expiry > this.now() ? entry(canonical!, expiry) : undefined;
  }

  count(): number {
    return this.index.size;
  }

  /** Holds `target` banned until `expiresAt` (null: permanent), as the primary said. */
  set(target: string, expiresAt: number | null): void {
    this.index.set(target, expiresAt ?? Infinity);
  }

  /** Drops expired entries. */
  sweep(): void {
    const now = this.now();
    this.index.sweep((expiry) => expiry <= now);
  }

  async add(request: BanRequest, options: ShareOptions = {}): Promise<Ban> {
    const target = canonicalTarget(request.target);
    const before = target === undefined ? undefined : this.index.get(target);
    if (target !== undefined) this.set(target, request.durationMs > 0 ? this.now() + request.durationMs : null);
    try {
      return await this.primary.add(request, options);
    } catch (error) {
      if (target !== undefined) {
        if (before === undefined) this.index.delete(target);
        else this.index.set(target, before);
      }
      throw error;
    }
  }

  async remove(target: string, actor: string, options: ShareOptions = {}): Promise<boolean> {
    const canonical = canonicalTarget(target);
    if (canonical !== undefined) this.index.delete(canonical);
    return this.primary.remove(target, actor, options);
  }

  onChange(listener: (change: BanChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A change the primary applied: the entry follows it, listeners hear it. */
  applyPushed(change: BanChange): void {
    if (change.op === 'ban') this.set(change.ban.target, change.ban.expiresAt);
    else this.index.delete(change.tombstone.target);
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

function entry(target: string, expiry: number): BanEntry {
  return { target, expiresAt: expiry === Infinity ? null : expiry };
}
