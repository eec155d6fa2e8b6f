import { BanLedger } from './ban-ledger.js';
import { Bans } from './bans.js';
import type { BanFacet, ClusterStore, LocalState, SharedBackend, StoreHealth } from './types.js';

/** How often expired bans and old tombstones are dropped from memory. */
const SWEEP_MS = 30_000;

/**
 * The one store object every plugin and the core hold. It always keeps the node's own state
 * (the ban ledger the gate reads); when the redis plugin attaches a shared backend, changes
 * also travel through it and health follows it — plugins keep the same reference.
 */
export class NodeStore implements ClusterStore {
  readonly ledger: BanLedger;
  readonly bans: BanFacet;
  private shared: { backend: SharedBackend; owner: string } | undefined;
  private readonly sweeper: NodeJS.Timeout;

  constructor(nodeName: string, now: () => number = Date.now) {
    this.ledger = new BanLedger(nodeName, now);
    this.bans = new Bans(this.ledger, () => this.shared?.backend.publishBan?.bind(this.shared.backend), now);
    this.sweeper = setInterval(() => this.ledger.sweep(), SWEEP_MS);
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
   * the holder of a lease (renewed every run, lasting two intervals) in a cluster. When the
   * lease cannot be checked (Redis down) every node runs the job: the jobs are idempotent.
   */
  async isLeader(name: string, intervalMs: number): Promise<boolean> {
    const lease = this.shared?.backend.lease;
    if (!lease) return true;
    try {
      return await lease.call(this.shared!.backend, `job:${name}`, intervalMs * 2);
    } catch {
      return true;
    }
  }

  health(): StoreHealth {
    return this.shared ? this.shared.backend.health() : { mode: 'local' };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}
