import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { listeningPorts } from './proc-sockets.js';
import { waitFor } from './wait.js';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const cliPath = join(repoRoot, 'bin', 'palisade');

/** A Palisade process started by a test, with its logs parsed as they arrive. */
export interface PalisadeProcess {
  readonly child: ChildProcess;
  readonly proxyUrl: string;
  readonly adminUrl: string;
  readonly logs: Array<Record<string, unknown>>;
  readonly stderr: () => string;
  /** SIGTERM and wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
}

/**
 * A session secret for every test process: with USE_REDIS=yes a node refuses to start
 * without one shared by the nodes. Tests of that refusal override it with ''.
 */
export const TEST_SESSIONS_SECRET = 'test-sessions-secret-0123456789abcdef';

/**
 * Environment every test process gets: loopback only, quiet .env-free cwd. The WAF is off
 * unless a test turns it on (`USE_MODSECURITY: 'yes'`): the tests of other features send
 * requests the CRS scores (numeric Host headers, odd methods, large bodies), and the WAF's
 * own tests say what it does with them.
 */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { SESSIONS_SECRET: TEST_SESSIONS_SECRET, USE_MODSECURITY: 'no' };
  for (const name of ['PATH', 'HOME', 'LANG', 'TZ']) if (process.env[name]) env[name] = process.env[name] as string;
  return env;
}

/**
 * Runs `palisade <args>` to completion with exactly `env` (plus PATH/HOME), in an empty
 * working directory so no stray .env is read.
 */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: cwd ?? mkdtempSync(join(tmpdir(), 'palisade-cli-')),
      env: { ...baseEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

/**
 * True once `/livez` says the node's boot finished (every listener and worker up), and the
 * answer came from process `pid`: another test's node can hold the port picked for this one
 * (a soak run once took its `/livez` for this node's, then failed on its admin token).
 */
async function started(adminAddress: string, pid: number | undefined): Promise<boolean> {
  const live = await fetch(`http://${adminAddress}/livez`, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.json() as Promise<{ status: string }>,
    () => undefined,
  );
  if (live?.status !== 'ok' || pid === undefined) return false;
  try {
    return listeningPorts(pid).includes(Number(adminAddress.slice(adminAddress.lastIndexOf(':') + 1)));
  } catch {
    return false; // exited meanwhile
  }
}

/**
 * Starts a Palisade node on free loopback ports and waits until both its listeners answer.
 * `env` adds to / overrides the defaults (HTTP_ADDRESS=127.0.0.1, random ports). A port
 * this helper picked can be taken by another process before Palisade binds it (tests run
 * in parallel): then it tries again with new ports, twice at most.
 */
export async function startPalisade(env: Record<string, string> = {}, cwd?: string, options: LaunchOptions = {}): Promise<PalisadeProcess> {
  const portsAreOurs = env.HTTP_PORT === undefined && env.ADMIN_LISTEN === undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchPalisade(env, cwd, options);
    } catch (error) {
      if (!portsAreOurs || attempt === 3 || !/address already in use/.test(String(error))) throw error;
    }
  }
}

/** How the process is started: `cpus`, a `taskset -c` list the process may run on. */
export interface LaunchOptions {
  cpus?: string;
  /** Names left out of the process environment (given in `env` for the helper's URLs): the test's `.env` sets them, so a reload can change them. */
  fromDotenv?: string[];
}

async function launchPalisade(env: Record<string, string>, cwd: string | undefined, options: LaunchOptions): Promise<PalisadeProcess> {
  const httpPort = env.HTTP_PORT ?? String(await freePort());
  const adminPort = String(await freePort());
  const fullEnv = {
    ...baseEnv(),
    HTTP_ADDRESS: '127.0.0.1',
    HTTP_PORT: httpPort,
    ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
    NODE_NAME: 'test-node',
    ...env,
  };
  const processEnv: Record<string, string> = { ...fullEnv };
  for (const name of options.fromDotenv ?? []) delete processEnv[name];
  // taskset execs the node it starts: the child's pid is node's.
  const [command, args] =
    options.cpus === undefined ? [process.execPath, [cliPath, 'start']] : ['taskset', ['-c', options.cpus, process.execPath, cliPath, 'start']];
  const child = spawn(command, args, {
    cwd: cwd ?? mkdtempSync(join(tmpdir(), 'palisade-node-')),
    env: processEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  try {
    // An exit ends the wait at once: there is nothing left to wait for.
    await waitFor(async () => exitCode !== undefined || (await started(fullEnv.ADMIN_LISTEN, child.pid)), 'palisade to start (/livez saying ok)', 30_000);
    if (exitCode !== undefined) {
      await closed; // all of stderr has been read
      throw new Error(`palisade exited with ${exitCode}: ${stderr}`);
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const adminAddress = fullEnv.ADMIN_LISTEN;
  return {
    child,
    proxyUrl: `http://127.0.0.1:${fullEnv.HTTP_PORT}`,
    adminUrl: `http://${adminAddress}`,
    logs,
    stderr: () => stderr,
    exited,
    async stop(signal = 'SIGTERM') {
      if (exitCode === undefined) child.kill(signal);
      // A process that does not stop is a failure of the test, never a leftover.
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
