/**
 * The store contract a shared backend implements: what the node's store hands it
 * ({@link LocalState}, its ban replica) and the remote part of every facet it may offer.
 * The Redis backend (`redis/backend.ts`) implements it for every node; the primary
 * (`primary/`) serves the same remote parts to its workers. A backend author reads this
 * file and `types.ts`, nothing else.
 */
import type {
  AuditEntry,
  BanAgreement,
  BanChange,
  ClusterView,
  DegradedRate,
  MetricSeries,
  NodeReport,
  RateDecision,
  SessionRecord,
  StoreHealth,
} from './types.js';

/**
 * A lease of hits on a rate counter: the site that asked spends them without asking again,
 * within `LEASE_MS` of the grant (rate-lease.ts); the hits were taken from the bucket when
 * granted, and what the site does not spend it gives back.
 */
export interface LeaseGrant {
  /** Hits granted; 0 when not one fits (the client is over its limit). */
  hits: number;
  /** When none: milliseconds until one would. */
  retryAfterMs: number;
  /**
   * Granted by the node alone, the shared counters being unusable (`LIMIT_REQ_DEGRADED`):
   * owed to the shared counters whole, so its unspent hits are not given back.
   */
  alone?: true;
  /**
   * The shared counters' epoch at the grant (Redis: the failovers the node has seen). Hits
   * are given back only within the same epoch: a failover may have lost the grant itself.
   */
  epoch?: number;
}

/** A remote implementation (Redis); every call may throw, the facade then counts locally. */
export interface RemoteCounters {
  /**
   * A lease on the rate counter of `path` (at most `limit` hits per `periodMs`), its size a
   * share of what the bucket has left over `sites`, the sites that may ask (see gcraGrant).
   * `degraded` is the policy the answering side follows when it cannot reach the counters.
   */
  lease(path: string, limit: number, periodMs: number, degraded: DegradedRate | undefined, sites: number): Promise<LeaseGrant>;
  /** Gives `hits` of a lease granted in `epoch` back (nothing when the epoch has passed). */
  giveBack(path: string, limit: number, periodMs: number, hits: number, epoch: number | undefined): Promise<void>;
  increment(path: string, windowMs: number, by: number): Promise<number>;
  reset(path: string): Promise<void>;
  /**
   * Adds `debtMs` of use to the rate counter of `path` (GCRA: moves its arrival time
   * forward, at most a period past now): what this node allowed while it counted alone.
   */
  charge?(path: string, periodMs: number, debtMs: number): Promise<void>;
  /** What a lease of one hit would get now, taking nothing. */
  peek?(path: string, limit: number, periodMs: number): Promise<RateDecision>;
}

/** Remote leases (Redis `SET NX PX` + compare-and-delete); calls may throw. */
export interface RemoteLocks {
  acquire(name: string, token: string, ttlMs: number): Promise<boolean>;
  release(name: string, token: string): Promise<void>;
}

/** A remote implementation (Redis); calls may throw, the facade then uses this node's cache. */
export interface RemoteSessions {
  get(id: string, touchIdleMs: number | undefined): Promise<SessionRecord | undefined>;
  set(id: string, record: SessionRecord, ttlMs: number): Promise<void>;
  destroy(id: string): Promise<void>;
}

/** A remote implementation (Redis); calls may throw. Fields are encoded series keys. */
export interface RemoteMetrics {
  /** Adds the deltas to this node's totals in Redis. */
  push(deltas: ReadonlyMap<string, number>): Promise<void>;
  /** Sums every node's totals. */
  totals(): Promise<Map<string, number>>;
}

/** A remote trail (Redis); calls may throw. `append` is idempotent by entry id. */
export interface RemoteAudit {
  append(entries: readonly AuditEntry[]): Promise<void>;
  read(limit: number): Promise<AuditEntry[]>;
}

/** The cluster side a shared backend offers the store. */
export interface RemoteCluster {
  /** This node's agreement with the shared ban state. */
  agreement(): BanAgreement;
  /**
   * The reports of every node seen within {@link NODE_REPORT_TTL_MS}, Redis's ban state, and
   * the time now on the clock their `at` is on (Redis's).
   */
  reports(): Promise<{ reports: NodeReport[]; redis: ClusterView['redis']; now: number }>;
  /** Nodes whose heartbeat is fresh, as of the last beat read (undefined before one). */
  liveNodes(): number | undefined;
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
  counters?: RemoteCounters;
  /** Shared leases; without them locks are local to the node. */
  locks?: RemoteLocks;
  sessions?: RemoteSessions;
  audit?: RemoteAudit;
  metrics?: RemoteMetrics;
  /** Every node's heartbeat report, and how this node's bans compare with the shared ones. */
  cluster?: RemoteCluster;
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
  report(): NodeReport;
}
