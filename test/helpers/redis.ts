import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './ports.js';
import { listeningPorts } from './proc-sockets.js';
import { waitFor } from './wait.js';

/** A real redis-server (or sentinel) started by a test on a free loopback port. */
export interface RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly process: ChildProcess;
  /** A client for assertions (plain, not Palisade's). */
  client(options?: RedisOptions): Redis;
  /** Stops the server by PID (SIGKILL when `hard`), waiting for it to exit. */
  stop(hard?: boolean): Promise<void>;
  /** Starts it again on the same port with the same config (data kept when persisted). */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: a frozen server, connections stay open. */
  freeze(): void;
  thaw(): void;
}

export interface RedisServerOptions {
  /** Extra config lines (`requirepass x`, `user …`, TLS settings). */
  config?: string[];
  sentinel?: boolean;
  port?: number;
  /** Port the readiness check uses (TLS servers listen on a TLS port only). */
  tlsReadyCheck?: { ca: string; cert?: string; key?: string };
  /** Credentials for the readiness check and `client()`. */
  password?: string;
  username?: string;
}

const clients = new Set<Redis>();

/** Whether `child` (still running) holds the listening socket of `port`. */
function listensOn(child: ChildProcess, port: number): boolean {
  try {
    return child.pid !== undefined && listeningPorts(child.pid).includes(port);
  } catch {
    return false; // exited meanwhile: the next poll says so
  }
}

/** Starts `redis-server` with a generated config file; resolves once it answers PING. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'palisade-redis-'));
  const conf = join(dir, options.sentinel ? 'sentinel.conf' : 'redis.conf');
  const lines = [
    'bind 127.0.0.1',
    options.tlsReadyCheck ? `port 0\ntls-port ${port}` : `port ${port}`,
    `dir ${dir}`,
    'daemonize no',
    'logfile ""',
    // No disk, and replicas sync at once (the default waits 5 s before a diskless sync).
    ...(options.sentinel ? [] : ['save ""', 'appendonly no', 'repl-diskless-sync-delay 0']),
    ...(options.config ?? []),
  ];
  writeFileSync(conf, `${lines.join('\n')}\n`);
  let child: ChildProcess;
  const launch = async (): Promise<void> => {
    child = spawn('redis-server', options.sentinel ? [conf, '--sentinel'] : [conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited: ${stderr}`);
        const probe = makeClient({ lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
        probe.on('error', () => undefined);
        try {
          await probe.connect();
          // The answer must come from this server: another test's may hold the port (then this one exits).
          return (await probe.ping()) === 'PONG' && listensOn(child, port);
        } finally {
          probe.disconnect();
        }
      },
      `redis-server on ${port}`,
      10_000,
      50,
    );
  };
  const makeClient = (extra: RedisOptions = {}): Redis => {
    const tls = options.tlsReadyCheck;
    const client = new Redis({
      host: '127.0.0.1',
      port,
      password: options.password,
      username: options.username,
      ...(tls ? { tls: { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: true } } : {}),
      ...(extra as object),
    });
    client.on('error', () => undefined);
    clients.add(client);
    client.on('end', () => clients.delete(client));
    return client;
  };
  await launch();
  const server: RedisServer = {
    port,
    dir,
    get process() {
      return child;
    },
    client: makeClient,
    async stop(hard = false) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGCONT');
      child.kill(hard ? 'SIGKILL' : 'SIGTERM');
      await exited;
    },
    async restart() {
      await server.stop();
      await launch();
    },
    freeze() {
      child.kill('SIGSTOP');
    },
    thaw() {
      child.kill('SIGCONT');
    },
  };
  running.add(server);
  return server;
}

const running = new Set<RedisServer>();

/** Stops every server and client the test file started (call in afterAll). */
export async function stopAllRedis(): Promise<void> {
  for (const client of clients) client.disconnect();
  clients.clear();
  await Promise.all([...running].map((server) => server.stop(true)));
  running.clear();
}
