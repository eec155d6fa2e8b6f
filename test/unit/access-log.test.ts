import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { accessLine, accessWriter, type AccessRecord } from '../../src/access-log.js';
import { createLogger } from '../../src/log.js';
import { StdoutLog } from '../../src/stdout-log.js';
import { waitFor } from '../helpers/wait.js';

const records: AccessRecord[] = [
  {
    reqId: '6f1c0c1e-2f64-4a43-9d59-3f0e8c1b2a11',
    ip: '203.0.113.7',
    method: 'GET',
    path: '/',
    status: 200,
    verdict: 'pass',
    reason: undefined,
    code: undefined,
    aborted: false,
    ms: 1.25,
  },
  {
    reqId: 'b',
    ip: '2001:db8::1',
    method: 'POST',
    path: '/a"b\\c\n\u2028\ud800',
    status: 429,
    verdict: 'block',
    reason: 'limit.req',
    code: undefined,
    aborted: true,
    ms: 0,
  },
  { reqId: 'c', ip: '198.51.100.7', method: 'GET', path: '/', status: 403, verdict: 'ban', reason: 'ban', code: 'PAL_BANNED', aborted: false, ms: 0.5 },
];

/** The time field differs between two lines written a moment apart; everything else must not. */
const withoutTime = (line: string): string => line.replace(/"time":"[^"]*"/, '"time":"T"');

function tempFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'palisade-log-')), 'out.log');
}

describe('access log', () => {
  it('writes byte for byte the line pino writes for the same fields', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', nodeName: 'node-"a"', destination: { write: (line: string) => void lines.push(line) } });
    const bindings = String((log as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym]);
    for (const record of records) {
      // The fields in the order the proxy logged them before the fast path existed.
      const { reqId, ip, method, path, status, verdict, reason, code, aborted, ms } = record;
      log.info({ reqId, ip, method, path, status, verdict, reason, code, aborted: aborted || undefined, ms }, 'request');
      expect(withoutTime(accessLine(bindings, record))).toBe(withoutTime(lines.at(-1)!));
    }
    expect(JSON.parse(accessLine(bindings, records[1]!)).path).toBe(records[1]!.path);
  });

  it('goes through pino (and its level) when the destination is not the stdout writer', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'warn', nodeName: 'n', destination: { write: (line: string) => void lines.push(line) } });
    accessWriter(log)(records[0]!);
    expect(lines).toEqual([]);
    log.level = 'info';
    accessWriter(log)(records[0]!);
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'request', reqId: records[0]!.reqId, status: 200 });
  });
});

describe('stdout writer', () => {
  it('gathers access lines for one turn and keeps their order with lines written at once', async () => {
    const file = tempFile();
    const fd = openSync(file, 'w');
    const out = new StdoutLog(fd);
    out.writeBatched('a1\n');
    out.writeBatched('a2\n');
    expect(readFileSync(file, 'utf8')).toBe('');
    out.write('warn\n');
    expect(readFileSync(file, 'utf8')).toBe('a1\na2\nwarn\n');
    out.writeBatched('a3\n');
    await nextTurn();
    expect(readFileSync(file, 'utf8')).toBe('a1\na2\nwarn\na3\n');
    closeSync(fd);
  });

  it('writes at once past the batch size', () => {
    const file = tempFile();
    const fd = openSync(file, 'w');
    const out = new StdoutLog(fd, 8);
    out.writeBatched('12345\n');
    out.writeBatched('67890\n');
    expect(readFileSync(file, 'utf8')).toBe('12345\n67890\n');
    closeSync(fd);
  });

  it('waits for a slow reader without losing, reordering or splitting anything', async () => {
    const file = tempFile();
    // A reader that starts late: the pipe (64 KiB) fills, writes fail with EAGAIN.
    const reader = spawn('sh', ['-c', `sleep 0.3; cat > '${file}'`], { stdio: ['pipe', 'ignore', 'inherit'] });
    const fd = (reader.stdin as unknown as { _handle: { fd: number } })._handle.fd;
    const out = new StdoutLog(fd);
    let expected = '';
    for (let i = 0; i < 4000; i++) {
      // Multi-byte characters, so a partial write can fall inside one.
      const line = `{"n":${i},"path":"/é€😀/${'x'.repeat(i % 50)}"}\n`;
      out.writeBatched(line);
      expected += line;
      if (i % 1000 === 999) {
        out.write(`pino ${i}\n`);
        expected += `pino ${i}\n`;
      }
    }
    await waitFor(() => (existsSync(file) && readFileSync(file, 'utf8').length >= expected.length) || undefined, 'the reader to get every line');
    reader.stdin!.end();
    expect(readFileSync(file, 'utf8')).toBe(expected);
    expect(out.dropped).toBe(0);
  });

  it('turns itself off on an fd it cannot write instead of throwing or retrying', async () => {
    const file = tempFile();
    closeSync(openSync(file, 'w'));
    const fd = openSync(file, 'r'); // EBADF on write, like EPIPE: not a reason to retry
    const out = new StdoutLog(fd);
    expect(() => out.write('x\n')).not.toThrow();
    out.writeBatched('y\n');
    await nextTurn();
    expect(() => out.flush()).not.toThrow();
    expect(out.dropped).toBe(0);
    closeSync(fd);
  });
});
