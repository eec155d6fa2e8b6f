/**
 * What one message between two processes of a node costs on this machine: a child process
 * (the same IPC channel `node:cluster` gives a worker) answers each batch of rate calls sent
 * to it, paced as a worker's batches are under the bench's load, and the CPU both processes
 * spent is divided by the messages. Most of it is the kernel waking a process that was
 * waiting for the message, not the JSON: that is why a node's worker messages per request
 * weigh on its CPU per request far more than their size suggests.
 *
 * `node message-cost.js echo` is the child's side.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpuSeconds } from './cpu.js';

/** A batch of calls as a worker sends them under load (about 16 checks per message). */
const BATCH = { t: 'calls', c: Array.from({ length: 16 }, (_, i) => [i + 1, 'rate', [`limit:0:203.0.113.${i}`, 2, 1000, 'share']]) };
const ANSWER = { t: 'results', r: Array.from({ length: 16 }, (_, i) => [i + 1, 1, { allowed: true, retryAfterMs: 0, remaining: 1 }]) };

/** What one measurement found. */
export interface MessageCost {
  /** CPU µs of both processes per message (a batch and its answer are two). */
  cpuUsPerMessage: number;
  messages: number;
}

/**
 * Sends batches for `durationMs`, one every `paceMs` (0: each right after the last answer),
 * and returns the CPU both processes spent per message; undefined without /proc.
 */
export async function measureMessageCost(durationMs = 2_000, paceMs = 1): Promise<MessageCost | undefined> {
  const child = fork(fileURLToPath(import.meta.url), ['echo'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('error', reject);
    });
    const before = [cpuSeconds(process.pid), cpuSeconds(child.pid)];
    let roundTrips = 0;
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const send = (): void => {
        if (Date.now() - started >= durationMs) return resolve();
        roundTrips++;
        child.send(BATCH);
      };
      child.on('message', () => (paceMs > 0 ? setTimeout(send, paceMs) : setImmediate(send)));
      send();
    });
    const after = [cpuSeconds(process.pid), cpuSeconds(child.pid)];
    if ([...before, ...after].some((seconds) => seconds === undefined)) return undefined;
    // The bench's own process idles meanwhile: what it spent is its half of the messages.
    const spent = after[0]! - before[0]! + after[1]! - before[1]!;
    return { cpuUsPerMessage: (spent * 1e6) / (roundTrips * 2), messages: roundTrips * 2 };
  } finally {
    child.kill();
  }
}

if (process.argv[2] === 'echo') {
  process.on('message', () => process.send!(ANSWER));
  process.send!({ t: 'up' });
}
