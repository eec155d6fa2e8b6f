import type { ServerResponse } from 'node:http';
import { STATUS_CODES, validateHeaderName, validateHeaderValue } from 'node:http';
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

/**
 * Answers on a raw socket (upgrade handshakes, parse errors) and closes it: the same
 * headers and body as {@link sendPlain}. A header Node would refuse (CR, LF, a bad name) is
 * left out rather than written raw.
 */
export function sendRaw(socket: Duplex, status: number, requestId?: string, headers: Record<string, string> = {}, body?: string | Buffer): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const payload = body ?? `${status} ${STATUS_CODES[status] ?? 'Error'}\n${requestId ? `request id: ${requestId}\n` : ''}`;
  const fields: Record<string, string> = {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...(requestId ? { 'x-request-id': requestId } : {}),
  };
  // A plugin's `Content-Type` replaces ours; its framing headers never replace the real ones.
  for (const [name, value] of Object.entries(headers)) fields[name.toLowerCase()] = value;
  fields['content-length'] = String(Buffer.byteLength(payload));
  fields.connection = 'close';
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n`;
  for (const [name, value] of Object.entries(fields)) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      continue;
    }
    head += `${name}: ${value}\r\n`;
  }
  socket.write(`${head}\r\n`);
  socket.end(payload);
}
