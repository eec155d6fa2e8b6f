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
  const tracked = spawnTracked('redis-server', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], { stdout: 'ignore' });
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
