import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/** A pino logger whose lines are collected in memory, for tests that assert on logs. */
export function memoryLogger(): { log: Logger; lines: Array<Record<string, unknown>>; stream: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'trace' }, stream), lines, stream };
}
