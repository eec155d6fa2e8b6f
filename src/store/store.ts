import { randomUUID } from 'node:crypto';
import { BanLedger } from './ban-ledger.js';
import { Bans } from './bans.js';
import { Counters, type CounterFacet } from './counters.js';
import { Locks } from './locks.js';
import { Audit } from './audit.js';
import { ClusterMetrics } from './metrics.js';
import { Sessions, type SessionFacet } from './sessions.js';
import type { BanFacet, ClusterStore, LocalState, SharedBackend, StoreHealth } from './types.js';

/** How often expired bans and old tombstones are dropped from memory. */
const SWEEP_MS = 30_000;
/** How often metric deltas are pushed to the shared backend. */
export const METRICS_FLUSH_MS = 5_000;

/**
 * The one store object every plugin and the core hold. It always keeps the node's own state
 * (the ban ledger the gate reads); when the redis plugin attaches a shared backend, changes
 * also travel through it and health follows it — plugins keep the same reference.
 */
export class NodeStore implements ClusterStore {
  readonly ledger: BanLedger;
  readonly bans: BanFacet;
  readonly counters: CounterFacet;
  readonly locks: Locks;
  readonly sessions: SessionFacet;
  readonly metrics: ClusterMetrics;
  readonly audit: Audit;
  private readonly flusher: NodeJS.Timeout;
  /** This node's identity in leases for leader-only jobs. */
  private readonly leaderToken = randomUUID();
  private shared: { backend: SharedBackend; owner: string } | undefined;
  private readonly sweeper: NodeJS.Timeout;

  constructor(nodeName: string, now: () => number = Date.now, auditLength = 10_000) {
    this.ledger = new BanLedger(nodeName, now);
    this.bans = new Bans(this.ledger, () => this.shared?.backend.publishBan?.bind(this.shared.backend), now);
    this.counters = new Counters(() => this.shared?.backend.counters, now);
    this.locks = new Locks(() => this.shared?.backend.locks, now);
    this.sessions = new Sessions(() => this.shared?.backend.sessions, now);
    this.metrics = new ClusterMetrics(() => this.shared?.backend.metrics);
    this.audit = new Audit(() => this.shared?.backend.audit, auditLength);
    this.flusher = setInterval(() => void this.metrics.flush(), METRICS_FLUSH_MS);
    this.flusher.unref();
    this.sweeper = setInterval(() => {
      const expired = this.ledger.sweep();
      // In a cluster the lease holder's Redis sweep records expiries, once for everyone.
      if (this.shared) return;
      for (const ban of expired) void this.audit.record({ at: now(), actor: 'system', node: nodeName, action: 'expire', target: ban.target, reason: ban.reason });
    }, SWEEP_MS);
    this.sweeper.unref();
  }

  /** What a shared backend needs of this node to sync it. */
  get local(): LocalState {
    return { ledger: this.ledger };
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
    return this.shared ? this.shared.backend.health() : { mode: 'local' };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    clearInterval(this.flusher);
  }

  /** Pushes metric deltas now (before the shared backend goes away at shutdown). */
  async flushMetrics(): Promise<void> {
    await this.metrics.flush();
  }
}
