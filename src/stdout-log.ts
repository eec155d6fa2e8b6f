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
  /** Bytes of a partly written text, written before `pending` (a cut may split a character). */
  private unwritten: Buffer | undefined;
  private scheduled = false;
  /** The reader is not keeping up (EAGAIN): only the retry timer writes until it fires. */
  private blocked = false;
  private broken = false;
  /** Access lines dropped because the reader did not keep up (EAGAIN) for too long. */
  dropped = 0;
  private readonly flushNow = (): void => this.flushPending();
  private readonly retry = (): void => {
    this.blocked = false;
    this.flushPending();
  };

  /**
   * Set when other processes write to the same stdout (a node's workers): writes are then cut
   * at line ends into pieces a pipe takes whole ({@link PIPE_ATOMIC_BYTES}), so lines of two
   * processes never interleave.
   */
  shared = false;

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
    if (this.blocked) return;
    if (this.pending.length >= this.batchChars) this.flushPending();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushNow);
    }
  }

  /** `logger.flush()` (and exit) end up here: one attempt now, even while blocked. */
  flush(cb?: (error?: Error) => void): void {
    this.blocked = false;
    this.flushPending();
    cb?.();
  }

  private flushPending(): void {
    this.scheduled = false;
    if (this.broken || this.blocked) return;
    try {
      if (this.unwritten) this.unwritten = this.writeAll(this.unwritten);
      if (this.unwritten === undefined && this.pending !== '') {
        const text = this.pending;
        this.pending = '';
        this.unwritten = this.writeAll(Buffer.from(text));
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
        this.broken = true;
        return;
      }
    }
    // A non-blocking pipe whose reader is behind: try again later, not on every line.
    if (this.unwritten !== undefined) {
      this.blocked = true;
      setTimeout(this.retry, 10).unref();
    }
  }

  /** Writes what the fd takes now; the rest (undefined: nothing) is kept for later. */
  private writeAll(bytes: Buffer): Buffer | undefined {
    let rest = bytes;
    while (rest.length > 0) {
      let written: number;
      try {
        written = writeSync(this.fd, this.shared ? rest.subarray(0, pieceEnd(rest)) : rest);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return rest;
        throw error;
      }
      if (written === 0) return rest; // a full pipe that does not say EAGAIN
      rest = rest.subarray(written);
    }
    return undefined;
  }
}

/** What POSIX guarantees a pipe writes whole (Linux's PIPE_BUF). */
export const PIPE_ATOMIC_BYTES = 4096;

/** Length of the next piece of `bytes` to write: whole lines up to PIPE_ATOMIC_BYTES (one longer line alone). */
function pieceEnd(bytes: Buffer): number {
  if (bytes.length <= PIPE_ATOMIC_BYTES) return bytes.length;
  const lastNewline = bytes.lastIndexOf(10, PIPE_ATOMIC_BYTES - 1);
  if (lastNewline !== -1) return lastNewline + 1;
  const next = bytes.indexOf(10);
  return next === -1 ? bytes.length : next + 1;
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
