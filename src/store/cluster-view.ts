import type { StoreHealth } from './types.js';

/** How long a node stays listed after its last heartbeat. */
export const NODE_REPORT_TTL_MS = 3_600_000;
/** How often a node reports itself to the shared store (its heartbeat). */
export const HEARTBEAT_MS = 2_000;
/** A node is live while its last heartbeat is younger than three beats. */
export const LIVE_WITHIN_MS = 3 * HEARTBEAT_MS;

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
}

/** One node in the cluster view. */
export interface NodeView extends NodeReport {
  /** Heartbeat within three beats: the node is running. */
  live: boolean;
  /** Milliseconds since its last heartbeat, as the answering node sees it. */
  ageMs: number;
  /** The node found its bans different from Redis's and has not repaired them yet. */
  diverged: boolean;
}

/** Every node seen in the last hour, and the shared ban state they are compared with. */
export interface ClusterView {
  /** The node answering. */
  node: string;
  at: number;
  /** Redis's ban digest and stream tail as last read (null without Redis, or before the first read). */
  redis: { digest: string; stream: string; complete: boolean } | null;
  nodes: NodeView[];
  summary: { seen: number; live: number; diverged: number };
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

/** The cluster view from the reports read (their `at` on the clock of `now`), `self` replacing this node's stored one. */
export function buildClusterView(self: NodeReport, reports: readonly NodeReport[], redis: ClusterView['redis'], now: number): ClusterView {
  const byName = new Map(reports.map((report) => [report.node, report]));
  byName.set(self.node, { ...self, at: now });
  const nodes = [...byName.values()]
    .map((report): NodeView => {
      const ageMs = Math.max(0, now - report.at);
      return { ...report, ageMs, live: ageMs <= LIVE_WITHIN_MS, diverged: report.bans.agrees === false };
    })
    .sort((a, b) => a.node.localeCompare(b.node));
  return {
    node: self.node,
    at: now,
    redis,
    nodes,
    summary: { seen: nodes.length, live: nodes.filter((n) => n.live).length, diverged: nodes.filter((n) => n.live && n.diverged).length },
  };
}
