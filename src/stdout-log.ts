import { writeSync } from 'node:fs';

/**
 * The process's stdout for log lines, written with synchronous `write(2)` calls and never a
 * loop on a failing fd, so exit cannot hang (sonic-boom's asynchronous stream loops forever
 * in its exit flush when stdout is a closed pipe).
 *
 * Two paths:
 * - {@link StdoutLog.write} (pino's lines): written at once, so a warning is never later
 *   than the response it explains, and after any access lines gathered before it.
 * - {@link StdoutLog.writeBatched} (access lines): gathered for one event-loop turn and
 *   written together, one syscall per turn instead of one per request.
 *
 * EAGAIN (a non-blocking pipe whose reader is slow) keeps the text for a later turn; past
 * `maxPendingChars` further access lines are dropped and counted. Any other error (EPIPE,
 * EBADF) turns the stream off for good. On 'exit' one last write is tried.
 */
export class StdoutLog {
  private pending = '';
  private scheduled = false;
  private broken = false;
  /** Access lines dropped because the reader did not keep up (EAGAIN) for too long. */
  dropped = 0;
  private readonly flushNow = (): void => this.flushPending();

  constructor(
    private readonly fd: number,
    private readonly batchChars = 64 * 1024,
    private readonly maxPendingChars = 4 * 1024 * 1024,
  ) {}

  /** pino's path: keeps order with gathered access lines, then writes now. */
  write(line: string): boolean {
    if (this.broken) return true;
    this.pending += line;
    this.flushPending();
    return true;
  }

  /** One access line, written at the end of this event-loop turn (or now, past 64 KiB). */
  writeBatched(line: string): void {
    if (this.broken) return;
    if (this.pending.length > this.maxPendingChars) {
      this.dropped++;
      return;
    }
    this.pending += line;
    if (this.pending.length >= this.batchChars) this.flushPending();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
  }

  /** `logger.flush()` ends up here. */
  flush(cb?: (error?: Error) => void): void {
    this.flushPending();
    cb?.();
  }

  private flushPending(): void {
    this.scheduled = false;
    if (this.broken || this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    let rest: Buffer | undefined;
    try {
      const written = writeSync(this.fd, text);
      // A blocking fd takes everything; a non-blocking pipe may take part of it.
      if (written < Buffer.byteLength(text)) {
        rest = Buffer.from(text).subarray(written);
        while (rest.length > 0) rest = rest.subarray(writeSync(this.fd, rest));
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
        this.pending = (rest ? rest.toString() : text) + this.pending;
        if (!this.scheduled) {
          this.scheduled = true;
          setTimeout(this.flushNow, 10).unref();
        }
      } else this.broken = true;
    }
  }
}

let stdout: StdoutLog | undefined;

/** The one {@link StdoutLog} on fd 1 (one exit hook however many loggers use it). */
export function stdoutLog(): StdoutLog {
  if (!stdout) {
    const log = new StdoutLog(1);
    stdout = log;
    process.once('exit', () => log.flush());
  }
  return stdout;
}
