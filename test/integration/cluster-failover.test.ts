import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessNode, type InProcessNode } from '../helpers/in-process.js';
import { stopAllRedis } from '../helpers/redis.js';
import { startSentinelCluster, type SentinelCluster } from '../helpers/sentinel.js';
import { banWhile } from '../helpers/ban-writer.js';
import { readyOnSharedStore } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

let cluster: SentinelCluster;
let a: InProcessNode;
let b: InProcessNode;

beforeAll(async () => {
  cluster = await startSentinelCluster(2);
  const env = (name: string) => ({ NODE_NAME: name, USE_REDIS: 'yes', REDIS_SENTINEL_HOSTS: cluster.sentinelHosts, REDIS_TIMEOUT: '1s' });
  a = await startInProcessNode(env('failover-a'));
  b = await startInProcessNode(env('failover-b'));
  await waitFor(async () => (await Promise.all([a, b].map(readyOnSharedStore))).every(Boolean), 'both nodes ready on the shared store (/readyz)');
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await stopAllRedis();
});

/** Every target is banned on both nodes and recorded on the current master. */
async function expectNoneLost(targets: string[]): Promise<void> {
  const master = await cluster.currentMaster();
  const client = master.client();
  await waitFor(
    async () => {
      const scores = await client.zmscore('palisade:bans:index', ...targets);
      return scores.every((score) => score !== null);
    },
    'every ban on the new master',
    20_000,
    100,
  );
  // The nodes learn them from the stream (or a resync) a moment after Redis has them; a
  // lost ban never arrives and fails the wait, naming what is missing. The deadline is
  // generous (waitFor's own default and more): once, on loaded cores, the node that did not
  // write them still lacked them 10 s after the new master had them.
  const missing = (): string[] =>
    targets.flatMap((target) => [...(a.store.bans.match(target) ? [] : [`${target} on A`]), ...(b.store.bans.match(target) ? [] : [`${target} on B`])]);
  await waitFor(() => missing().length === 0, 'every ban on both nodes', 30_000).catch(() => undefined);
  expect(missing()).toEqual([]);
}

describe('bans across a Sentinel failover', () => {
  it('loses no ban written during SENTINEL FAILOVER', async () => {
    const targets = await banWhile(a, '198.18', () => cluster.failover());
    console.info(`measured: ${targets.length} bans written during SENTINEL FAILOVER`);
    await expectNoneLost(targets);
  });

  it('loses no ban written while the master is killed (-9) and replaced', async () => {
    await cluster.waitForReplicasInSync();
    const victim = await cluster.currentMaster();
    const seen = { a: a.lines.length, b: b.lines.length };
    const targets = await banWhile(b, '198.19', async (written) => {
      await written(10);
      await victim.stop(true);
      return cluster.waitForNewMaster(victim);
    });
    console.info(`measured: ${targets.length} bans written across a kill -9 of the master`);
    await expectNoneLost(targets);
    // Each node resyncs with the new master as soon as it can read it — not through a resync
    // that fails because its reading connection has not reconnected yet, and then waits for
    // the heartbeat and a back-off, while the bans the failover lost are not written back.
    const since = (node: InProcessNode, from: number) => node.lines.slice(from);
    await waitFor(
      () => [since(a, seen.a), since(b, seen.b)].every((lines) => lines.some((l) => l.msg === 'bans resynced with Redis' && l.reason === 'master changed')),
      'both nodes resynced with the new master',
    );
    expect([...since(a, seen.a), ...since(b, seen.b)].filter((l) => l.msg === 'ban resync failed; retrying with backoff')).toEqual([]);
  });
});
