import type { ClusterView, NodeReport, NodeView, StoreHealth } from './types.js';

/** How long a node stays listed after its last heartbeat. */
export const NODE_REPORT_TTL_MS = 3_600_000;
/** How often a node reports itself to the shared store (its heartbeat). */
export const HEARTBEAT_MS = 2_000;
/** A node is live while its last heartbeat is younger than three beats. */
export const LIVE_WITHIN_MS = 3 * HEARTBEAT_MS;

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
