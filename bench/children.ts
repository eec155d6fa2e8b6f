import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A child process the bench started; every one is stopped by {@link stopAll}. */
export interface Tracked {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (null after a signal or a failed spawn) once the process is gone. */
  readonly exited: Promise<number | null>;
  /** True until the process has exited. */
  alive(): boolean;
  /** The last few kilobytes of its stderr, for error messages. */
  stderr(): string;
}

export interface SpawnTrackedOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** 'pipe' keeps stdin open so our own children can exit when the bench dies (see targets.ts). */
  stdin?: 'pipe' | 'ignore';
  stdout?: 'pipe' | 'ignore';
}

const STDERR_KEEP = 4096;
const running = new Set<Tracked>();

/** Spawns `command args` and registers it, so no path out of the bench leaves it running. */
export function spawnTracked(name: string, command: string, args: string[], options: SpawnTrackedOptions = {}): Tracked {
  const stdio: StdioOptions = [options.stdin ?? 'ignore', options.stdout ?? 'pipe', 'pipe'];
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-STDERR_KEEP);
  });
  let done = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    // A spawn that fails (ENOENT, EACCES) emits 'error' and may never emit 'exit'.
    child.once('error', (error) => {
      stderr += `\n${error.message}`;
      resolve(null);
    });
  });
  const tracked: Tracked = { name, child, exited, alive: () => !done, stderr: () => stderr.trim() };
  running.add(tracked);
  void exited.then(() => {
    done = true;
    running.delete(tracked);
  });
  return tracked;
}

const stopping = new WeakMap<Tracked, Promise<void>>();

/**
 * SIGTERM, then SIGKILL if the process is still there after `graceMs`. Idempotent: a second
 * SIGTERM would make Palisade skip its drain and exit 1.
 */
export function stopTracked(tracked: Tracked, graceMs = 5000): Promise<void> {
  let stop = stopping.get(tracked);
  if (!stop) {
    stop = terminate(tracked, graceMs);
    stopping.set(tracked, stop);
  }
  return stop;
}

async function terminate(tracked: Tracked, graceMs: number): Promise<void> {
  if (!tracked.alive()) return;
  tracked.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    tracked.exited.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
  ]);
  clearTimeout(timer);
  if (timedOut && tracked.alive()) {
    tracked.child.kill('SIGKILL');
    await tracked.exited;
  }
}

/** Stops every child still running, in reverse start order (the proxies before their upstream). */
export async function stopAll(): Promise<void> {
  for (const tracked of [...running].reverse()) await stopTracked(tracked);
}

/**
 * Last-resort cleanup: on SIGINT/SIGTERM stop every child and exit; on any other way out
 * (uncaught error, process.exit) SIGKILL whatever is left, since 'exit' handlers cannot wait.
 */
export function installCleanup(): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`bench: ${signal}, stopping children\n`);
    void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.on('exit', () => {
    for (const tracked of running) if (tracked.alive()) tracked.child.kill('SIGKILL');
  });
}

/**
 * Resolves with the first stdout line that parses as JSON and satisfies `accept`; rejects
 * when the process exits first or `timeoutMs` passes. The rest of stdout keeps draining.
 */
export function waitForJsonLine<T>(tracked: Tracked, accept: (line: unknown) => line is T, timeoutMs: number): Promise<T> {
  const stdout = tracked.child.stdout;
  if (!stdout) return Promise.reject(new Error(`${tracked.name}: stdout is not piped`));
  return new Promise<T>((resolve, reject) => {
    const lines = createInterface({ input: stdout });
    const timer = setTimeout(() => fail(new Error(`${tracked.name} not ready within ${timeoutMs}ms`)), timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    lines.on('line', (line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return;
      }
      if (accept(parsed)) {
        clearTimeout(timer);
        resolve(parsed);
      }
    });
    void tracked.exited.then((code) => fail(new Error(`${tracked.name} exited (${code}) before it was ready: ${tracked.stderr()}`)));
  });
}

/**
 * Runs a bench's body with cleanup installed: every child stopped at the end, an error
 * printed as one `bench:` line with exit code 1.
 */
export function runBench(body: () => Promise<void>): void {
  installCleanup();
  body()
    .catch((error: unknown) => {
      process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    })
    .finally(() => stopAll());
}
