import pino, { type DestinationStream, type Logger } from 'pino';
import { PalisadeError } from './errors.js';
import { stdoutLog } from './stdout-log.js';

/** Header and field paths never written to logs, whatever the level. */
const REDACTED_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers.authorization',
];

export interface LoggerOptions {
  level: string;
  nodeName: string;
  /** The worker's slot (1 to WORKERS), in every line it writes; absent in the primary. */
  worker?: number;
  /** Names of secret settings; any log field of that name is censored. */
  secretSettings?: Iterable<string>;
  /** Where lines go; stdout ({@link stdoutLog}: synchronous writes, access lines batched) by default. */
  destination?: DestinationStream;
}

/**
 * The process logger: pino JSON, one object per line, cookies, authorization and every
 * secret setting redacted. Writes are synchronous: an asynchronous sonic-boom stream loops
 * forever in its exit-time flush when stdout is a closed pipe (EPIPE), which turns a
 * SIGTERM into a hang; a synchronous write fails once and logging stops instead.
 * `bench/` measures what this costs.
 */
export function createLogger(options: LoggerOptions): Logger {
  const secretPaths = [...(options.secretSettings ?? [])].flatMap((name) => [name, `settings.${name}`]);
  const destination = options.destination ?? stdoutLog();
  return pino(
    {
      level: options.level,
      base: options.worker === undefined ? { node: options.nodeName } : { node: options.nodeName, worker: options.worker },
      redact: { paths: [...REDACTED_PATHS, ...secretPaths], censor: '***' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** Writes out buffered lines; safe to call on any logger. */
export function flushLogger(logger: Logger): void {
  try {
    logger.flush();
  } catch {
    // A logger whose stream is already closed has nothing left to write.
  }
}

/** Text of an error for logs and operators: the message and code, never a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof PalisadeError) return error.message;
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
