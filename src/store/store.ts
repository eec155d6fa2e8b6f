import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { BanSnapshot } from './ban-snapshot.js';
import { BanLedger } from './ban-ledger.js';
import { BanPolicy } from './ban-policy.js';
import { Bans, type BanPublisher } from './bans.js';
import { Counters } from './counters.js';
import { Locks } from './locks.js';
import { Audit } from './audit.js';
import { ClusterMetrics } from './metrics.js';
import { Sessions } from './sessions.js';
import { comparableFrom, digestText } from './ban-digest.js';
import { buildClusterView } from './cluster-view.js';
import type { ServedStore } from './primary/store-service.js';
import type { ClusterStore, StoreHealth } from './types.js';
import { readPackageJson } from '../paths.js';
import type { AuditFacet, ClusterView, NodeReport } from './types.js';
import type { LocalState, SharedBackend } from './shared-backend.js';

/** This build's version, as every node reports it. */
const VERSION = readPackageJson<{ version: string }>('package.json').version;

/** How often expired bans and old tombstones are dropped from memory. */
const SWEEP_MS = 30_000;
/** How often metric deltas are pushed to the shared backend, and counts made alone added to the shared counters. */
export const METRICS_FLUSH_MS = 5_000;

/**
 * The one store object every plugin and the core hold. It always keeps the node's own state
 * (the ban ledger the gate reads); when the redis plugin attaches a shared backend, changes
 * also travel through it and health follows it — plugins keep the same reference.
 */
export class NodeStore implements ClusterStore {
  readonly ledger: BanLedger;
  /** The node's one ban policy: every ban, from any source, is admitted by it (the node sets its rules). */
  readonly policy = new BanPolicy();
  readonly bans: Bans;
  readonly counters: Counters;
  readonly locks: Locks;
  readonly sessions: Sessions;
  readonly metrics: ClusterMetrics;
  readonly audit: AuditFacet;
  private readonly auditTrail: Audit;
  private readonly flusher: NodeJS.Timeout;
  /** This node's identity in leases for leader-only jobs. */
  private readonly leaderToken = randomUUID();
  private shared: { backend: SharedBackend; owner: string } | undefined;
  private snapshot: BanSnapshot | undefined;
  /** True when a snapshot gave this node its bans at start. */
  private snapshotLoaded = false;
  private readonly sweeper: NodeJS.Timeout;
  private readonly startedAt: number;
  /** What the node serves its workers (`primary/store-service.ts`): every facet's remote part. */
  readonly remotes: ServedStore['remotes'];
  /** The minute each recent refusal (caller, method, path) was last recorded. */
  private readonly refusalsSeen = new LRUCache<string, number>({ max: 1_000 });
  /** The node's workers, when it has some (set by the node once its pool exists). */
  describeWorkers: (() => { count: number; ready: number }) | undefined;
  /** What must be the same on every node (the plugins' fingerprints), for the heartbeat. */
  describeFingerprints: (() => Record<string, string>) | undefined;

  constructor(
    nodeName: string,
    private readonly now: () => number = Date.now,
    auditLength = 10_000,
  ) {
    this.startedAt = now();
    this.ledger = new BanLedger(nodeName, now, undefined, this.policy);
    this.auditTrail = new Audit(() => this.shared?.backend.audit, auditLength);
    this.audit = this.auditTrail;
    this.bans = new Bans(this.ledger, () => this.publisher(), this.auditTrail, now);
    this.counters = new Counters(() => this.shared?.backend.counters, now, undefined, {
      liveNodes: () => this.liveNodes(),
      workers: () => this.describeWorkers?.().count ?? 1,
    });
    this.locks = new Locks(() => this.shared?.backend.locks, now);
    this.sessions = new Sessions(() => this.shared?.backend.sessions, now);
    this.metrics = new ClusterMetrics(() => this.shared?.backend.metrics);
    this.remotes = {
      counters: this.counters.remote,
      sessions: this.sessions.remote,
      locks: this.locks.remote,
      metrics: this.metrics.remote,
      bans: this.bans,
      audit: this.audit,
    };
    this.flusher = setInterval(() => {
      void this.metrics.flush();
      void this.counters.settle();
    }, METRICS_FLUSH_MS);
    this.flusher.unref();
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** Drops expired bans and old tombstones from memory (every 30 s by itself). */
  sweep(): void {
    const expired = this.ledger.sweep();
    // In a cluster the lease holder's Redis sweep records expiries, once for everyone.
    if (!this.shared) this.bans.expired(expired);
  }

  /** What a shared backend needs of this node to sync it. */
  get local(): LocalState {
    return {
      bans: this.ledger,
      expired: (targets) => this.bans.expired(targets.map((target) => ({ target }))),
      reassertAudit: () => this.auditTrail.reassert(),
      flushAudit: () => this.auditTrail.flush(),
      report: () => this.report(),
    };
  }

  /** What this node says about itself (its heartbeat, its line in the cluster view). */
  report(): NodeReport {
    const at = this.now();
    const agreement = this.shared?.backend.cluster?.agreement() ?? { stream: null, agrees: null, divergedSince: null, repairs: 0 };
    return {
      node: this.ledger.nodeName,
      version: VERSION,
      startedAt: this.startedAt,
      at,
      store: this.health(),
      bans: { count: this.ledger.table.size, digest: digestText(this.ledger.digest(comparableFrom(at))), ...agreement },
      workers: this.describeWorkers?.() ?? null,
      fingerprints: this.describeFingerprints?.() ?? {},
    };
  }

  /** Every node seen and how its bans compare (just this node without a shared backend). */
  async clusterView(): Promise<ClusterView> {
    const cluster = this.shared?.backend.cluster;
    const seen = cluster ? await cluster.reports() : { reports: [], redis: null, now: this.now() };
    return buildClusterView(this.report(), seen.reports, seen.redis, seen.now);
  }

  /**
   * Records an admin request refused for its caller's role (the audit trail's `refused`
   * entries): once a minute per caller, method and path, so a caller hammering a route it
   * may not use cannot push the real decisions out of the trail.
   */
  recordRefusal(refusal: { actor: string; method: string; path: string; role: string | null; target?: string }): void {
    const key = `${refusal.actor}\n${refusal.method}\n${refusal.path}`;
    const minute = Math.floor(this.now() / 60_000);
    if (this.refusalsSeen.get(key) === minute) return;
    this.refusalsSeen.set(key, minute);
    this.auditTrail.record({
      at: this.now(),
      actor: refusal.actor,
      node: this.ledger.nodeName,
      action: 'refused',
      target: refusal.target ?? '',
      detail: `${refusal.method} ${refusal.path} (${refusal.role ?? 'no role'})`,
    });
  }

  /** Nodes running in the cluster as of the last heartbeat read (1 without a shared backend). */
  liveNodes(): number {
    return Math.max(1, this.shared?.backend.cluster?.liveNodes() ?? 1);
  }

  /** The shared backend's side of ban changes, when it has one. */
  private publisher(): BanPublisher | undefined {
    const backend = this.shared?.backend;
    if (!backend?.publishBan) return undefined;
    const publish = backend.publishBan.bind(backend);
    return { publish, isPending: (target) => backend.isBanPending?.(target) ?? false };
  }

  /** Called through `PluginContext.shareStore`; a second provider is a programming error. */
  attach(backend: SharedBackend, owner: string): void {
    if (this.shared) throw new Error(`plugin ${owner} cannot share a store: ${this.shared.owner} already does`);
    this.shared = { backend, owner };
  }

  /**
   * True when this node should run the leader-only job `name` now: always on a single node,
   * the holder of a lease (renewed every run, lasting two intervals) in a cluster. Leader
   * jobs touch only Redis, so when the lease cannot be taken there is nothing to run anyway.
   */
  async isLeader(name: string, intervalMs: number): Promise<boolean> {
    if (!this.shared?.backend.locks) return true;
    return (await this.locks.acquire(`job:${name}`, intervalMs * 2, this.leaderToken)) !== undefined;
  }

  health(): StoreHealth {
    if (!this.shared) return { mode: 'local' };
    const health = this.shared.backend.health();
    return this.holdsBans() ? health : { ...health, bansLoading: true };
  }

  holdsBans(): boolean {
    return this.readiness().ready;
  }

  /**
   * Keeps the ban table in `dir` (see {@link BanSnapshot}): loads it now — before a shared
   * backend is attached, so the first resync re-asserts what Redis lacks — and writes it
   * after changes. Returns how many changes the snapshot held, if one was usable. Only a
   * complete snapshot (written while the node held the shared bans) makes the node ready.
   */
  async persistBans(dir: string, log: Logger): Promise<number | undefined> {
    // Complete: it had the shared bans, or started from a complete snapshot (a second outage).
    this.snapshot = new BanSnapshot(dir, this.ledger, log, () => this.snapshotLoaded || !this.bansIncomplete());
    const loaded = await this.snapshot.load();
    this.snapshotLoaded = loaded?.complete === true;
    this.snapshot.start();
    return loaded?.changes;
  }

  /** True while a shared backend has not loaded the shared bans yet (whatever a snapshot gave). */
  private bansIncomplete(): boolean {
    const backend = this.shared?.backend;
    return backend?.bansLoaded !== undefined && !backend.bansLoaded();
  }

  /**
   * Whether this node may serve: it holds its bans — always on a single node; in a cluster
   * once the shared ban set was loaded, or a snapshot was. Otherwise the reason.
   */
  readiness(): { ready: true } | { ready: false; reason: string } {
    const backend = this.shared?.backend;
    if (!backend?.bansLoaded || backend.bansLoaded() || this.snapshotLoaded) return { ready: true };
    const health = backend.health();
    return { ready: false, reason: `the shared bans are not loaded yet${health.detail ? ` (${health.detail})` : ''} and no STATE_DIR snapshot holds them` };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    clearInterval(this.flusher);
    await this.snapshot?.close();
  }

  /** Pushes metric deltas now (before the shared backend goes away at shutdown). */
  async flushMetrics(): Promise<void> {
    await this.metrics.flush();
  }
}
