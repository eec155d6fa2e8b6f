import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The upstream used when `REVERSE_PROXY_HOST` is unset, so `npm start` shows a working
 * proxy at once. Listens on a random loopback port and echoes what it received (method,
 * path, forwarding headers): a quick way to see what Palisade sends upstream.
 */
export async function startDemoUpstream(): Promise<{ url: URL; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const body = JSON.stringify(
      {
        message: 'Hello from the Palisade demo upstream. Set REVERSE_PROXY_HOST to proxy your own service.',
        method: req.method,
        url: req.url,
        forwarded: {
          'x-forwarded-for': req.headers['x-forwarded-for'],
          'x-forwarded-proto': req.headers['x-forwarded-proto'],
          'x-forwarded-host': req.headers['x-forwarded-host'],
          'x-request-id': req.headers['x-request-id'],
        },
      },
      null,
      2,
    );
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(`${body}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}`),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
