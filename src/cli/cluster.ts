import type { Command } from 'commander';
import { exitCodes } from '../errors.js';
import { relative } from '../relative-time.js';
import { refused, run, table } from './admin-command.js';
import type { ClusterView } from '../store/types.js';

/** The table `palisade cluster` prints. */
export function formatClusterView(view: ClusterView): string {
  const rows = view.nodes.map((n) => [
    n.node,
    n.version,
    n.store.mode,
    `${n.live ? '' : 'gone, '}${relative(view.at - n.ageMs, view.at)}`,
    String(n.bans.count),
    n.bans.digest,
    n.bans.stream ?? '-',
    n.diverged ? 'DIVERGED' : n.bans.agrees ? 'agrees' : '-',
    String(n.bans.repairs),
    n.workers ? `${n.workers.ready}/${n.workers.count}` : '-',
    n.differs.length > 0 ? `DIFFERS: ${n.differs.join(',')}` : 'same',
  ]);
  const redis = view.redis ? `redis: digest ${view.redis.digest}${view.redis.complete ? '' : ' (incomplete)'}, stream at ${view.redis.stream}\n` : '';
  const summary = `${view.summary.live} live of ${view.summary.seen} seen, ${view.summary.diverged} diverged, ${view.summary.differing} with different rules (asked ${view.node})`;
  return `${table(['NODE', 'VERSION', 'STORE', 'HEARTBEAT', 'BANS', 'DIGEST', 'STREAM', 'VS REDIS', 'REPAIRS', 'WORKERS', 'RULES'], rows)}\n${redis}${summary}\n`;
}

/** Adds `cluster` to the program: exit 0, or 1 when a live node's bans differ from Redis's or its rules from the others'. */
export function registerClusterCommand(program: Command): void {
  program
    .command('cluster')
    .description(
      "show every node of the cluster (store mode, bans, digest, stream position, rules); exit 1 when a node's bans differ from Redis's or its rules (the WAF's) from the other nodes'",
    )
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) =>
      run(async (client) => {
        const answer = await client.call('GET', '/api/cluster');
        if (answer.status !== 200) return refused(answer);
        const view = JSON.parse(answer.body) as ClusterView;
        process.stdout.write(options.json ? `${JSON.stringify(view, null, 2)}\n` : formatClusterView(view));
        return view.summary.diverged > 0 || view.summary.differing > 0 ? exitCodes.failure : exitCodes.ok;
      }),
    );
}
