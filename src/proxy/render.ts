import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Writes a short plain-text answer from the proxy itself: the status text and the request
 * id, nothing about internals. Safe to call only before headers were sent.
 */
export function sendPlain(res: ServerResponse, status: number, requestId: string, headers: Record<string, string> = {}, body?: string | Buffer): void {
  const payload = body ?? `${status} ${STATUS_CODES[status] ?? 'Error'}\nrequest id: ${requestId}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(payload)),
    'cache-control': 'no-store',
    'x-request-id': requestId,
    ...headers,
  });
  res.end(payload);
}

/** Answers on a raw socket (upgrade requests, parse errors) and closes it. */
export function sendRaw(socket: Duplex, status: number, requestId?: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${status} ${STATUS_CODES[status] ?? 'Error'}\n${requestId ? `request id: ${requestId}\n` : ''}`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${requestId ? `X-Request-Id: ${requestId}\r\n` : ''}\r\n${body}`,
  );
}
