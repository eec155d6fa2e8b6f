import { describe, expect, it } from 'vitest';
import { buildClusterView, countDiffering } from '../../src/store/cluster-view.js';
import type { NodeReport } from '../../src/store/types.js';

const NOW = 1_000_000;

function report(node: string, rules: string | undefined, at = NOW): NodeReport {
  return {
    node,
    version: '1.0.0',
    startedAt: 0,
    at,
    store: { mode: 'shared' },
    bans: { count: 0, digest: '0', stream: null, agrees: null, divergedSince: null, repairs: 0 },
    workers: null,
    ...(rules === undefined ? {} : { fingerprints: { 'modsecurity.rules': rules } }),
  };
}

describe('fingerprints in the cluster view', () => {
  it("flags the live node whose rules differ from most nodes', and counts it", () => {
    const reports = [report('a', 'x'), report('b', 'x'), report('c', 'y')];
    const view = buildClusterView(reports[0]!, reports, null, NOW);
    expect(view.nodes.map((n) => [n.node, n.differs])).toEqual([
      ['a', []],
      ['b', []],
      ['c', ['modsecurity.rules']],
    ]);
    expect(view.summary.differing).toBe(1);
    expect(countDiffering(reports)).toBe(1);
  });

  it("breaks a tie with the answering node's own rules; a node without the WAF differs from nodes with it", () => {
    const two = [report('a', 'x'), report('b', 'y')];
    expect(buildClusterView(two[1]!, two, null, NOW).nodes.find((n) => n.node === 'a')?.differs).toEqual(['modsecurity.rules']);
    expect(buildClusterView(two[0]!, two, null, NOW).nodes.find((n) => n.node === 'b')?.differs).toEqual(['modsecurity.rules']);
    const without = [report('a', 'x'), report('b', 'x'), report('c', undefined)];
    expect(buildClusterView(without[0]!, without, null, NOW).nodes.find((n) => n.node === 'c')?.differs).toEqual(['modsecurity.rules']);
  });

  it('leaves a node that is gone out of the comparison', () => {
    const reports = [report('a', 'x'), report('b', 'y', NOW - 60_000), report('c', 'x')];
    const view = buildClusterView(reports[0]!, reports, null, NOW);
    expect(view.nodes.find((n) => n.node === 'b')).toMatchObject({ live: false, differs: [] });
    expect(view.summary.differing).toBe(0);
  });
});
