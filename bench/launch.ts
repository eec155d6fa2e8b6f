import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnTracked, waitForJsonLine, type Tracked } from './children.js';
import { freePort } from './ports.js';
import { isReadyLine } from './ready.js';

/** A server the bench started in a child process. */
export interface Server {
  readonly url: URL;
  readonly process: Tracked;
  /** The admin listener, for Palisade. */
  readonly adminUrl?: URL;
}

const READY_TIMEOUT_MS = 15_000;
/** dist/bench → the package root, where bin/palisade lives. */
const packageRoot = join(import.meta.dirname, '..', '..');

/** Only what Node needs: the bench's own environment must not configure Palisade. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TZ']) if (process.env[name]) env[name] = process.env[name];
  return env;
}

/** `node args…`, on CPU `pin` alone when given (taskset execs node: the pid is node's). */
function nodeCommand(args: string[], pin: number | undefined): [string, string[]] {
  return pin === undefined ? [process.execPath, args] : ['taskset', ['-c', String(pin), process.execPath, ...args]];
}

/** Starts targets.js in `role` (see there), on CPU `pin` when given, and waits for its readiness line. */
export async function startTarget(role: 'upstream' | 'bare' | 'ceiling', upstream?: URL, pin?: number): Promise<Server> {
  const script = join(import.meta.dirname, 'targets.js');
  const [command, args] = nodeCommand(upstream ? [script, role, upstream.origin] : [script, role], pin);
  const tracked = spawnTracked(role, command, args, { env: baseEnv(), stdin: 'pipe', stdout: 'pipe' });
  const ready = await waitForJsonLine(tracked, isReadyLine, READY_TIMEOUT_MS);
  return { url: new URL(`http://127.0.0.1:${ready.port}/`), process: tracked };
}

/**
 * Starts `palisade start` with its default plugins and log level (the access log is part of
 * what is measured; its lines go to /dev/null, as cheap a sink as there is) and waits until
 * the admin `/readyz` answers 200.
 */
export async function startPalisade(upstream: URL, extraEnv: Record<string, string> = {}, expectStore = 'local', pin?: number): Promise<Server> {
  const httpPort = await freePort();
  let adminPort = await freePort();
  while (adminPort === httpPort) adminPort = await freePort();
  // An empty working directory, so no stray .env is read.
  const cwd = mkdtempSync(join(tmpdir(), 'palisade-bench-'));
  const env = {
    ...baseEnv(),
    HTTP_ADDRESS: '127.0.0.1',
    HTTP_PORT: String(httpPort),
    ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
    REVERSE_PROXY_HOST: upstream.origin,
    NODE_NAME: 'bench',
    // The loader speaks for many clients through X-Forwarded-For; trust it as a load balancer.
    USE_REAL_IP: 'yes',
    REAL_IP_FROM: '127.0.0.1',
    ...extraEnv,
  };
  const [command, args] = nodeCommand([join(packageRoot, 'bin', 'palisade'), 'start'], pin);
  const tracked = spawnTracked('palisade', command, args, { env, cwd, stdout: 'ignore' });
  void tracked.exited.then(() => rmSync(cwd, { recursive: true, force: true }));

  const url = new URL(`http://127.0.0.1:${httpPort}/`);
  const readyz = new URL(`http://127.0.0.1:${adminPort}/readyz`);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (!tracked.alive()) throw new Error(`palisade exited before it was ready: ${tracked.stderr()}`);
    // The admin listener binds before the proxy one, so /readyz alone can be early by a moment.
    if ((await storeOf(readyz)) === expectStore && (await getStatus(url)) !== 0) break;
    if (Date.now() > deadline) throw new Error(`palisade not ready within ${READY_TIMEOUT_MS}ms: ${tracked.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, process: tracked, adminUrl: new URL(`http://127.0.0.1:${adminPort}/`) };
}

/** The `store` field of /readyz, or undefined when it does not answer. */
async function storeOf(readyz: URL): Promise<string | undefined> {
  try {
    const { status, body } = await getOnce(readyz);
    return status === 200 ? (JSON.parse(body) as { store?: string }).store : undefined;
  } catch {
    return undefined;
  }
}

/** One GET on a fresh connection; resolves with the status and body. */
export function getOnce(url: URL, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // agent: false so the check leaves no pooled socket open in the bench process.
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url.href} timed out`)));
    req.on('error', reject);
  });
}

/** The status of one GET, or 0 when nothing answered. */
async function getStatus(url: URL): Promise<number> {
  return getOnce(url, 1000).then(
    ({ status }) => status,
    () => 0,
  );
}

/** Fails unless `server` answers the upstream's 200 `ok`: a proxy that errors would bench its error path. */
export async function checkAnswersOk(name: string, server: Server): Promise<void> {
  const { status, body } = await getOnce(server.url);
  if (status !== 200 || body !== 'ok')
    throw new Error(`${name} at ${server.url.href} answered ${status} ${JSON.stringify(body.slice(0, 200))}, expected 200 "ok"`);
}
