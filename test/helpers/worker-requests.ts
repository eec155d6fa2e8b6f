import http from 'node:http';
import type { PalisadeProcess } from './palisade.js';
import { waitFor } from './wait.js';

/** What one request got, and which worker answered it (from its access line). */
export interface WorkerAnswer {
  status: number;
  worker: number;
}

/**
 * One request on a new connection, so whichever worker the kernel gives it takes it from the
 * shared socket (a kept-alive connection stays with one worker). `ip` is sent as
 * `X-Forwarded-For` (for nodes that trust 127.0.0.1 to name clients).
 */
export async function sendOnNewConnection(
  palisade: PalisadeProcess,
  request: { ip?: string; path?: string; headers?: Record<string, string> },
): Promise<WorkerAnswer> {
  const headers = { ...request.headers, ...(request.ip === undefined ? {} : { 'x-forwarded-for': request.ip }) };
  const { status, requestId } = await new Promise<{ status: number; requestId: string }>((resolve, reject) => {
    const req = http.get(`${palisade.proxyUrl}${request.path ?? '/'}`, { agent: false, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, requestId: String(res.headers['x-request-id']) }));
    });
    req.on('error', reject);
  });
  const line = await waitFor(() => palisade.logs.find((l) => l.msg === 'request' && l.reqId === requestId), 'the access line');
  return { status, worker: Number(line.worker) };
}

/**
 * Requests on new connections, in order, until at least `atLeast` were sent and both workers
 * answered. The workers take connections from one shared socket, so which one answers is the
 * kernel's choice (about half each here): a test that needs both keeps sending, up to 400.
 */
export async function sendUntilBothWorkers(
  palisade: PalisadeProcess,
  atLeast: number,
  request: (i: number) => { ip?: string; path?: string; headers?: Record<string, string> },
): Promise<WorkerAnswer[]> {
  const results: WorkerAnswer[] = [];
  while (results.length < atLeast || new Set(results.map((r) => r.worker)).size < 2) {
    if (results.length === 400) throw new Error('400 requests and one worker answered them all');
    results.push(await sendOnNewConnection(palisade, request(results.length)));
  }
  return results;
}
