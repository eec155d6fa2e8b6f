import { createServer } from 'node:net';

/** Ports this process handed out already: two servers never get the same one. */
const handedOut = new Set<number>();

/**
 * A TCP port that was free on 127.0.0.1 a moment ago (the OS picked it), never one this
 * process handed out before. For what takes its port from the environment (Palisade); a
 * server of our own listens on port 0 instead, which cannot race.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await askTheOs();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

function askTheOs(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('the OS gave no port'))));
    });
  });
}
