import { createServer } from 'node:net';

/** Ports this process handed out already: two servers of one test never get the same one. */
const handedOut = new Set<number>();

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picked it), never one handed out before. */
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
      server.close(() => resolve(port));
    });
  });
}
