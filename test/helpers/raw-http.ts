import { connect } from 'node:net';

/**
 * Sends raw bytes over a fresh TCP connection and resolves with everything the server sent
 * until it closed (or `timeoutMs` passed). For requests Node's client refuses to send.
 */
export function rawRequest(port: number, payload: string, timeoutMs = 5_000): Promise<{ text: string; closed: boolean; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false, ms: Date.now() - started });
    }, timeoutMs);
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true, ms: Date.now() - started });
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      if (text) resolve({ text, closed: true, ms: Date.now() - started });
      else reject(error);
    });
    socket.write(payload);
  });
}
