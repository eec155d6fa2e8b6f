import type { ClusterView, NodeReport, NodeView } from './types.js';

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
  const views = [...byName.values()]
    .map((report) => {
      const ageMs = Math.max(0, now - report.at);
      return { ...report, ageMs, live: ageMs <= LIVE_WITHIN_MS, diverged: report.bans.agrees === false };
    })
    .sort((a, b) => a.node.localeCompare(b.node));
  const usual = usualFingerprints(
    views.filter((view) => view.live),
    self,
  );
  const nodes = views.map((view): NodeView => ({ ...view, differs: view.live ? differing(view.fingerprints ?? {}, usual) : [] }));
  return {
    node: self.node,
    at: now,
    redis,
    nodes,
    summary: {
      seen: nodes.length,
      live: nodes.filter((n) => n.live).length,
      diverged: nodes.filter((n) => n.live && n.diverged).length,
      differing: nodes.filter((n) => n.differs.length > 0).length,
    },
  };
}

/**
 * Per fingerprint name, the value most live nodes report (a tie goes to the answering
 * node's own value, then to the smallest): the one a differing node is flagged against.
 */
function usualFingerprints(live: readonly NodeReport[], self: NodeReport | undefined): Map<string, string> {
  const counts = new Map<string, Map<string, number>>();
  for (const report of live) {
    for (const [name, value] of Object.entries(report.fingerprints ?? {})) {
      const byValue = counts.get(name) ?? new Map<string, number>();
      byValue.set(value, (byValue.get(value) ?? 0) + 1);
      counts.set(name, byValue);
    }
  }
  const usual = new Map<string, string>();
  for (const [name, byValue] of counts) {
    const own = self?.fingerprints?.[name];
    const ranked = [...byValue].sort(([a, x], [b, y]) => y - x || (a === own ? -1 : b === own ? 1 : a.localeCompare(b)));
    usual.set(name, ranked[0]![0]);
  }
  return usual;
}

/** The names whose value differs from the usual one (a fingerprint a node lacks, where others have it, differs too). */
function differing(fingerprints: Record<string, string>, usual: ReadonlyMap<string, string>): string[] {
  return [...usual].filter(([name, value]) => fingerprints[name] !== value).map(([name]) => name);
}

/** Live nodes whose fingerprints differ from most live nodes' (the `palisade_cluster_nodes_differing` gauge). */
export function countDiffering(live: readonly NodeReport[]): number {
  const usual = usualFingerprints(live, undefined);
  return live.filter((report) => differing(report.fingerprints ?? {}, usual).length > 0).length;
}
