/**
 * The state plugins and the core share. Plugins never see a Redis client: they see facets
 * shaped by the data. The local backend is the embedded default; the cluster store (Redis
 * with a local fallback) implements the same interface.
 */

/** One ban on an IP or a network. */
export interface Ban {
  /** Canonical IP (`203.0.113.7`) or network (`203.0.113.0/24`). */
  readonly target: string;
  readonly reason: string;
  /** Who decided: a plugin id, `api`, `cli` or `import`. */
  readonly origin: string;
  /** The person or token behind an `api`/`cli` ban; the plugin id otherwise. */
  readonly actor: string;
  /** Node that created the ban. */
  readonly node: string;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  /** Epoch milliseconds, or null for a permanent ban. */
  readonly expiresAt: number | null;
  /** Bounded evidence (the last offending requests), attacker-controlled text. */
  readonly evidence: string;
  /** Lamport version: of two changes to one target, the higher (then the node name) wins. */
  readonly version: number;
}

/** The record of a lifted ban: keeps an older ban, replayed later, from coming back. */
export interface Tombstone {
  readonly target: string;
  readonly version: number;
  readonly node: string;
  readonly actor: string;
  /** Epoch milliseconds of the unban. */
  readonly at: number;
}

/** One change to the ban list, as it travels between nodes. */
export type BanChange = { op: 'ban'; ban: Ban } | { op: 'unban'; tombstone: Tombstone };

/** What a caller supplies to ban: the rest is filled by the store. */
export interface BanRequest {
  target: string;
  reason: string;
  origin: string;
  actor?: string;
  /** Milliseconds; 0 = permanent. */
  durationMs: number;
  evidence?: string;
}

/** How long a ban change may wait for the other nodes before it resolves as pending. */
export interface ShareOptions {
  /** Milliseconds; 0 resolves as soon as the change is enforced here (a batch sharing one budget). Default ~1 s. */
  waitMs?: number;
}

/** What enforcement needs of a ban: every process of a node holds these. */
export interface BanEntry {
  /** Canonical IP or network. */
  readonly target: string;
  /** Epoch milliseconds, or null for a permanent ban. */
  readonly expiresAt: number | null;
}

/**
 * The ban facet plugins and the ban gate see, in every process of a node. `match` is
 * synchronous and never leaves the process. With workers (`WORKERS`), a worker holds only
 * entries; records, hit counts and the audit trail live in the primary ({@link BanRecords}).
 */
export interface BanFacet {
  /** The active ban covering `ip` (exact or a containing network), if any. O(1) / O(prefixes). */
  match(ip: string): BanEntry | undefined;
  /** The active ban stored under exactly `target` (canonical IP or CIDR), if any. */
  get(target: string): BanEntry | undefined;
  /** Bans held by this process (an expired one until the next sweep, at most 30 s). */
  count(): number;
  /**
   * Adds or replaces the ban on `target` and records it in the audit trail. Enforced in this
   * process before it resolves; resolves once the other nodes have it too, or after the
   * admin budget (~1 s) with the change pending.
   */
  add(request: BanRequest, options?: ShareOptions): Promise<Ban>;
  /** Lifts the ban on `target` (audited, same budget); resolves to false when there was none. */
  remove(target: string, actor: string, options?: ShareOptions): Promise<boolean>;
  /**
   * Calls `listener` for every change applied on this node, from here or from another node.
   * In a worker, for changes that reach it after it loaded its bans.
   */
  onChange(listener: (change: BanChange) => void): () => void;
}

/** The node's full ban records, where its store lives (the admin API reads them). */
export interface BanRecords extends BanFacet {
  match(ip: string): Ban | undefined;
  get(target: string): Ban | undefined;
  /** Every active ban on this node. */
  list(): Ban[];
  /** Every active ban covering `ip` (canonical): exact, then networks narrowest first. Counts no hit. */
  covering(ip: string): Ban[];
  /** How many active bans, by origin and by reason (without building the records). */
  tally(): { total: number; byOrigin: Map<string, number>; byReason: Map<string, number> };
  /** True while a change to `target` made on this node waits to reach the other nodes. */
  pending(target: string): boolean;
  /** Requests refused on this node because of the ban on `target` (canonical). */
  hits(target: string): number;
}

/** How the store is doing, as `/readyz` reports it. */
export interface StoreHealth {
  /** `local`: single node; `shared`: Redis reachable; `degraded`: Redis configured but unusable. */
  mode: 'local' | 'shared' | 'degraded';
  /** Why degraded, for operators (no secrets). */
  detail?: string;
  /** Present (true) while the node does not hold the cluster's bans yet (see `NodeStore.readiness`). */
  bansLoading?: true;
}

/** The state plugins share, in every process of a node. */
export interface ClusterStore {
  readonly bans: BanFacet;
  readonly counters: import('./counters.js').CounterFacet;
  readonly locks: import('./locks.js').LockFacet;
  readonly sessions: import('./sessions.js').SessionFacet;
  readonly metrics: import('./metrics.js').MetricsFacet;
  readonly audit: import('./audit.js').AuditFacet;
  health(): StoreHealth;
  /** True once this process holds the node's bans (always on a single node): read on every request. */
  holdsBans(): boolean;
  close(): Promise<void>;
}

/**
 * A backend that shares state across nodes; the redis plugin provides one at provision.
 * The store keeps enforcing from local state whatever the backend's health.
 */
export interface SharedBackend {
  /** `shared` when usable, `degraded` (with the reason) when not. */
  health(): StoreHealth;
  /**
   * Takes a change made on this node (already enforced locally) to the other nodes; resolves
   * true once delivered, false when it waits in the backend's journal. Never throws.
   */
  publishBan?(change: BanChange): Promise<boolean>;
  /** True while a change to `target` waits in the journal. */
  isBanPending?(target: string): boolean;
  /** True once this node holds the shared ban set (read it from the shared state at least once). */
  bansLoaded?(): boolean;
  /** Shared counters; the store counts locally when absent or failing. */
  counters?: import('./counters.js').RemoteCounters;
  /** Shared leases; without them locks are local to the node. */
  locks?: import('./locks.js').RemoteLocks;
  sessions?: import('./sessions.js').RemoteSessions;
  audit?: import('./audit.js').RemoteAudit;
  metrics?: import('./metrics.js').RemoteMetrics;
  /** Every node's heartbeat report, and how this node's bans compare with the shared ones. */
  cluster?: import('./cluster-view.js').RemoteCluster;
}

/**
 * The node's ban replica as a shared backend sees it: what it needs to keep the node and
 * the shared state in step, nothing of how the node stores or enforces bans.
 */
export interface BanReplica {
  /** This node's name (the tie-break of equal versions). */
  readonly nodeName: string;
  /** How long a lift is remembered; the backend keeps tombstones as long. */
  readonly tombstoneTtlMs: number;
  /** Applies a change from the shared state; false when it is not newer than what the node knows (ignored). */
  apply(change: BanChange): boolean;
  /** The version stamp of the last change the node knows for `target`, if any. */
  stampOf(target: string): { version: number; node: string } | undefined;
  /**
   * Every active ban and every tombstone still worth telling others about, built one at a
   * time as the walk goes (a fresh walk per call): a million bans are never all in memory
   * as records.
   */
  changes(): Iterable<BanChange>;
  /** The digest of the active bans expiring from bucket `from` on (see `ban-digest.ts`). */
  digest(from: number): number;
}

/** What a shared backend gets from the store when it is attached. */
export interface LocalState {
  readonly bans: BanReplica;
  /** The shared sweep removed these expired bans: recorded in the audit trail (once per cluster). */
  expired(targets: readonly string[]): void;
  /** Writes this node's audit entries to the shared trail again (after Redis lost its state). */
  reassertAudit(): Promise<void>;
  /** Retries audit entries the shared trail has not taken yet. */
  flushAudit(): Promise<void>;
  /** What this node says about itself in its heartbeat. */
  report(): import('./cluster-view.js').NodeReport;
}
