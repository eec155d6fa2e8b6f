import { Counter, Gauge } from 'prom-client';
import type { MetricsSettings } from '../../src/settings/types.generated.js';
import { definePlugin, loadManifest, type PluginContext } from '../../src/plugin/index.js';

/**
 * Ban and challenge metrics, per node and summed over the cluster:
 * `palisade_bans_total{origin}` (bans this node issued), `palisade_active_bans` (bans this
 * node enforces), `palisade_challenges_total{result}` (challenges served, passed or
 * failed), and the cluster sums `palisade_cluster_bans{origin}` and
 * `palisade_cluster_challenges{result}`. Labels are bounded: never an IP or a path.
 */
export default definePlugin<MetricsSettings>({
  manifest: loadManifest('metrics'),
  provision(ctx) {
    if (ctx.duties.node) registerNodeMetrics(ctx);
    if (!ctx.duties.requests) return {};
    const challenges = new Counter({
      name: 'palisade_challenges_total',
      help: 'Challenges served (result=served) and answered (passed or failed) on this node.',
      labelNames: ['result'] as const,
      registers: [ctx.metrics],
    });
    return {
      onResponse(_request, outcome) {
        // Challenge plugins answer with reasons `<plugin>.passed` / `<plugin>.failed`.
        const reason = outcome.reason ?? '';
        const result = reason.endsWith('.passed') ? 'passed' : reason.endsWith('.failed') ? 'failed' : outcome.verdict === 'challenge' ? 'served' : undefined;
        if (result === undefined) return;
        challenges.labels(result).inc();
        ctx.store.metrics.add('challenges', { result });
      },
    };
  },
});

/** What is counted once per node: bans it issued, bans it holds, the cluster's sums. */
function registerNodeMetrics(ctx: PluginContext<MetricsSettings>): void {
  const bans = new Counter({
    name: 'palisade_bans_total',
    help: 'Bans issued by this node, by origin.',
    labelNames: ['origin'] as const,
    registers: [ctx.metrics],
  });
  new Gauge({
    name: 'palisade_active_bans',
    help: 'Bans this node enforces right now (shared bans included).',
    registers: [ctx.metrics],
    collect() {
      this.set(ctx.store.bans.count());
    },
  });
  const clusterGauge = (metric: string, series: string, label: string, help: string): void => {
    new Gauge({
      name: metric,
      help,
      labelNames: [label],
      registers: [ctx.metrics],
      async collect() {
        this.reset();
        for (const s of await ctx.store.metrics.snapshot()) if (s.name === series) this.set(s.labels, s.value);
      },
    });
  };
  clusterGauge('palisade_cluster_bans', 'bans', 'origin', 'Bans issued by every node of the cluster, by origin.');
  clusterGauge('palisade_cluster_challenges', 'challenges', 'result', 'Challenges on every node of the cluster, by result.');
  ctx.onClose(
    ctx.store.bans.onChange((change) => {
      // Every node applies every change; only the node that issued a ban counts it.
      if (change.op !== 'ban' || change.ban.node !== ctx.nodeName) return;
      const origin = /^[a-z0-9_-]{1,32}$/.test(change.ban.origin) ? change.ban.origin : 'other';
      bans.labels(origin).inc();
      ctx.store.metrics.add('bans', { origin });
    }),
  );
}
