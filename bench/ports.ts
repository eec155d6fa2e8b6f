import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';

/** Ports this process handed out already: two servers never get the same one. */
const handedOut = new Set<number>();

/** Where the ports handed out start, and how many each process (a test worker) has to itself. */
const FIRST_PORT = 10_000;
const SLICE = 2_500;
const SLICES = 8;

/** Where the kernel's ephemeral ports start (Linux; 32768 elsewhere). */
const EPHEMERAL_START = ((): number => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
})();

/**
 * A TCP port that was free on 127.0.0.1 a moment ago, never one this process handed out
 * before. For what takes its port from the environment (Palisade, redis-server); a server
 * of our own listens on port 0 instead, which cannot race.
 *
 * The port is taken below the kernel's ephemeral range, from a slice of its own for each
 * test worker (`VITEST_POOL_ID`): an outgoing connection's local port, which the kernel takes
 * from the ephemeral range, can then never take it before the process that is given it
 * binds it, and neither can a port handed out by another test file running beside this one.
 * A port the OS picks is the answer only if the slice is used up.
 */
export async function freePort(): Promise<number> {
  const [low, high] = slice();
  const span = high - low;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = low + ((start + i) % span);
    if (handedOut.has(port)) continue;
    if ((await listenOn(port)) !== undefined) {
      handedOut.add(port);
      return port;
    }
  }
  for (;;) {
    const port = await listenOn(0);
    if (port === undefined) throw new Error('the OS gave no port');
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

/** This process's slice of ports, `[low, high)`, kept below the ephemeral range. */
function slice(): [number, number] {
  const pool = Number(process.env.VITEST_POOL_ID ?? 0);
  const index = Number.isInteger(pool) && pool >= 0 ? pool % SLICES : 0;
  const low = FIRST_PORT + index * SLICE;
  return [low, Math.min(low + SLICE, EPHEMERAL_START)];
}

/** Listens on `port` (0: the OS picks) on 127.0.0.1 and closes again; the port, or undefined when it was taken. */
function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.on('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}
