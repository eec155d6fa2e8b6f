import { connect, type Socket } from 'node:net';

/** The commands one Redis server ran, as `MONITOR` streams them, from the moment it answered OK. */
export interface RedisMonitor {
  /** Every command seen so far, as its arguments (the command's name first). */
  readonly commands: string[][];
  close(): void;
}

/**
 * `MONITOR` on its own plain TCP connection to 127.0.0.1:`port`: resolves once the server
 * said OK, so every command the server runs afterwards is in `commands`. A raw socket
 * rather than ioredis's `monitor()`: ioredis can take a monitor line for the reply to a
 * command of its own and fail the connection ("Command queue state error").
 */
export function monitorRedis(port: number): Promise<RedisMonitor> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const commands: string[][] = [];
    let buffered = '';
    let confirmed = false;
    socket.setEncoding('latin1');
    socket.on('error', (error) => {
      if (!confirmed) reject(error);
    });
    socket.on('connect', () => socket.write('MONITOR\r\n'));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let end: number;
      while ((end = buffered.indexOf('\r\n')) !== -1) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (!confirmed) {
          if (line !== '+OK') return reject(new Error(`MONITOR on port ${port} answered ${line}`));
          confirmed = true;
          resolve({ commands, close: () => socket.destroy() });
          continue;
        }
        commands.push(argumentsOf(line));
      }
    });
  });
}

/** The quoted arguments of a monitor line: `+1700000000.1 [0 127.0.0.1:5000] "set" "k" "v"`. */
function argumentsOf(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((match) => match[1]!.replace(/\\(.)/g, '$1'));
}
