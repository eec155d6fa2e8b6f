/**
 * The state plugins and the core share. Plugins never see a Redis client: they see facets
 * shaped by the data. The local backend is the embedded default; the cluster store (Redis
 * with a local fallback) implements the same interface. This file is the contract's data and
 * facets: it imports no implementation (a backend's part is `shared-backend.ts`).
 */
import type { CounterKey } from './counter-keys.js';

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
  /** Why, in one line, for the audit trail's entry (`10 refused: waf 942100 sqli`); at most 200 characters kept. */
  summary?: string;
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
  readonly counters: CounterFacet;
  readonly locks: LockFacet;
  readonly sessions: SessionFacet;
  readonly metrics: MetricsFacet;
  readonly audit: AuditFacet;
  health(): StoreHealth;
  /** True once this process holds the node's bans (always on a single node): read on every request. */
  holdsBans(): boolean;
  close(): Promise<void>;
}

/** The answer of a rate check. */
export interface RateDecision {
  allowed: boolean;
  /** When not allowed: milliseconds until one more hit would be. */
  retryAfterMs: number;
  /**
   * Hits left after this one that this process knows of: the bucket's own when it holds the
   * bucket (one process, local store), else what is left of its lease — at least that many
   * are left for the client.
   */
  remaining: number;
}

/**
 * What a rate check decides while the shared counters are unusable (`LIMIT_REQ_DEGRADED`):
 * `share` allows this node's share of the limit, `ceil(limit / live nodes)`; `local` the
 * whole limit; `open` everything; `closed` nothing.
 */
export type DegradedRate = 'share' | 'local' | 'open' | 'closed';

/** Counters shared by the cluster (or local to the node). */
export interface CounterFacet {
  /**
   * GCRA: allows at most `limit` hits per `periodMs` (a burst of `limit` allowed), across the
   * cluster. Decided from a lease of hits this process holds (see counters.ts): a round trip
   * only to take a new one, none while the client is known to be over the limit.
   */
  rate(key: CounterKey, limit: number, periodMs: number): Promise<RateDecision>;
  /**
   * The same as {@link rate}, but the decision itself (no promise) when it needs no round
   * trip: no shared backend, or a client known to be over its limit. The request path's
   * form: most requests then cost no promise at all.
   */
  check(key: CounterKey, limit: number, periodMs: number, degraded?: DegradedRate): RateDecision | Promise<RateDecision>;
  /** Adds `by` hits (0: only reads) and returns the count of the last `windowMs` (sliding window). */
  increment(key: CounterKey, windowMs: number, by?: number): Promise<number>;
  /** What {@link rate} would answer for one more hit now, without counting it (explanations). */
  peek(key: CounterKey, limit: number, periodMs: number): Promise<RateDecision>;
  /** Forgets the counter (rate and window) of that key, e.g. when a ban is lifted. */
  reset(key: CounterKey): Promise<void>;
}

/** A held lock; release it when done (it also expires by itself). */
export interface Lease {
  readonly name: string;
  /** Gives the lock back, only if this lease still holds it. */
  release(): Promise<void>;
}

/** Leases for work one node of the cluster should do at a time. */
export interface LockFacet {
  /** Takes `name` for `ttlMs`, or resolves undefined when another holder has it. */
  acquire(name: string, ttlMs: number): Promise<Lease | undefined>;
}

/** A stored session: the plugin's data plus the absolute deadline. */
export interface SessionRecord {
  data: Record<string, unknown>;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms after which the session is gone whatever its activity. */
  absoluteExpiresAt: number;
}

/** Sessions with an idle and an absolute lifetime. */
export interface SessionFacet {
  /** The session, when it exists; with `touchIdleMs` its idle timer restarts. */
  get(id: string, touchIdleMs?: number): Promise<SessionRecord | undefined>;
  /** Stores (creates or replaces) the session. */
  set(id: string, record: SessionRecord, idleMs: number): Promise<void>;
  destroy(id: string): Promise<void>;
}

/** One series of a cluster counter: name, labels and the total. */
export interface MetricSeries {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Counters summed over the cluster. */
export interface MetricsFacet {
  /** Adds `by` to a counter. Synchronous and never waits: deltas are flushed in the background. */
  add(name: string, labels: Record<string, string>, by?: number): void;
  /** Totals over the cluster's nodes (this node's alone when not shared). */
  snapshot(): Promise<MetricSeries[]>;
}

/** One entry of the audit trail: who did what to which address, when and why. */
export interface AuditEntry {
  /** Unique: an entry written twice (re-asserted after Redis lost it) is still one entry. */
  id: string;
  /** Epoch ms. */
  at: number;
  /** The person or token behind an API change, the plugin id for an automatic one, `system` for an expiry. */
  actor: string;
  node: string;
  /** `refused`: an admin request its caller's role does not allow. */
  action: 'ban' | 'unban' | 'import' | 'expire' | 'refused';
  /** IP or CIDR ('' for a refused request that named none). */
  target: string;
  reason?: string;
  /** Who decided the ban: a plugin id, `api` or `import`. */
  origin?: string;
  /** Short extra facts (a ban's expiry). */
  detail?: string;
}

/** The audit trail as readers (the API, the page) see it. */
export interface AuditFacet {
  /**
   * Up to `limit` entries, newest first: the cluster's trail, or — when the shared trail
   * cannot answer within the admin budget — this node's own entries.
   */
  list(limit: number): Promise<AuditEntry[]>;
}

/** How a node's ban table compares with the shared ban state. */
export interface BanAgreement {
  /** The last ban stream entry this node applied (null without a shared store). */
  stream: string | null;
  /** True: its digest matched Redis's at the same stream position; false: it did not; null: not compared yet. */
  agrees: boolean | null;
  /** Epoch ms of the first differing check, while it differs. */
  divergedSince: number | null;
  /** Resyncs this node ran because its digest differed. */
  repairs: number;
}

/** What a node says about itself in every heartbeat. */
export interface NodeReport {
  node: string;
  version: string;
  /** Epoch ms (the node's clock). */
  startedAt: number;
  /** Epoch ms of this report (the node's clock). */
  at: number;
  store: StoreHealth;
  /** Its ban table: how many, the digest of what does not expire within the next minute, and how it compares. */
  bans: { count: number; digest: string } & BanAgreement;
  /** Its workers (`WORKERS`), or null for a node serving in one process. */
  workers: { count: number; ready: number } | null;
  /**
   * What must be the same on every node, as `<plugin>.<name>` → fingerprint (the hash of the
   * WAF's compiled rules); absent from a node of an older version.
   */
  fingerprints?: Record<string, string>;
}

/** One node in the cluster view. */
export interface NodeView extends NodeReport {
  /** Heartbeat within three beats: the node is running. */
  live: boolean;
  /** Milliseconds since its last heartbeat, as the answering node sees it. */
  ageMs: number;
  /** The node found its bans different from Redis's and has not repaired them yet. */
  diverged: boolean;
  /** Its fingerprints that differ from the other live nodes' (the value most of them report), by name. */
  differs: string[];
}

/** Every node seen in the last hour, and the shared ban state they are compared with. */
export interface ClusterView {
  /** The node answering. */
  node: string;
  at: number;
  /** Redis's ban digest and stream tail as last read (null without Redis, or before the first read). */
  redis: { digest: string; stream: string; complete: boolean } | null;
  nodes: NodeView[];
  /** `differing`: live nodes whose fingerprints (their WAF rules…) differ from the others'. */
  summary: { seen: number; live: number; diverged: number; differing: number };
}
