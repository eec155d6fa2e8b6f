import { Redis } from 'ioredis';
import { spawnTracked, type Tracked } from './children.js';
import { freePort } from './ports.js';

/** A redis-server the bench started on loopback, and a client to it. */
export interface BenchRedis {
  readonly port: number;
  readonly process: Tracked;
  readonly client: Redis;
}

/** Starts `redis-server` without persistence on a free loopback port; resolves once it answers. */
export async function startBenchRedis(extraArgs: string[] = []): Promise<BenchRedis> {
  const port = await freePort();
  const tracked = spawnTracked(
    'redis-server',
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs],
    { stdout: 'ignore' },
  );
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (!tracked.alive()) throw new Error(`redis-server exited: ${tracked.stderr()}`);
    try {
      if (client.status === 'wait' || client.status === 'end') await client.connect();
      if ((await client.ping()) === 'PONG') break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('redis-server did not answer within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port, process: tracked, client };
}

/** Resident memory of a process in MiB, from /proc (Linux). */
export async function rssMiB(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN);
  return kib / 1024;
}

/** A Redis Cluster the bench started: its masters, and the seeds to give Palisade. */
export interface BenchCluster {
  readonly servers: BenchRedis[];
  /** `host:port …` for REDIS_CLUSTER_NODES. */
  readonly seeds: string;
}

/**
 * Starts `masters` `redis-server --cluster-enabled yes` on loopback (no replicas: on a
 * 2-core machine replication would only measure itself) and joins them with
 * `redis-cli --cluster create`; resolves once every slot is served.
 */
export async function startBenchCluster(masters = 3): Promise<BenchCluster> {
  const { execFile } = await import('node:child_process');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-cluster-'));
  const servers: BenchRedis[] = [];
  for (let i = 0; i < masters; i++) {
    servers.push(
      await startBenchRedis([
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${i}.conf`),
        '--dir',
        dir,
        '--cluster-node-timeout',
        '2000',
      ]),
    );
  }
  const seeds = servers.map((s) => `127.0.0.1:${s.port}`);
  await new Promise<void>((resolve, reject) =>
    execFile('redis-cli', ['--cluster', 'create', ...seeds, '--cluster-yes'], (error) => (error ? reject(error) : resolve())),
  );
  const deadline = Date.now() + 20_000;
  for (;;) {
    const states = await Promise.all(servers.map((s) => s.client.call('CLUSTER', 'INFO') as Promise<string>));
    if (states.every((info) => info.includes('cluster_state:ok'))) break;
    if (Date.now() > deadline) throw new Error('the bench cluster did not settle within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { servers, seeds: seeds.join(' ') };
}
