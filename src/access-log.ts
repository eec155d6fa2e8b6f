import pino, { type Logger } from 'pino';
import type { ErrorCode } from './errors.js';
import { StdoutLog } from './stdout-log.js';

let lastMs = 0;
let lastIso = '';

/** One request as the access log tells it. */
export interface AccessRecord {
  reqId: string;
  ip: string;
  method: string;
  path: string;
  status: number;
  verdict: string;
  reason: string | undefined;
  /** The registry code of a refusal or failure (`PAL_BANNED`, `PAL_UPSTREAM_TIMEOUT`, …); none for a pass. */
  code: ErrorCode | undefined;
  aborted: boolean;
  ms: number;
  /** Fields plugins added (`waf`), written after the core's (none of the core's names is replaced). */
  fields?: Record<string, unknown> | undefined;
}

const CORE_FIELDS = new Set([
  'level',
  'time',
  'node',
  'worker',
  'reqId',
  'ip',
  'method',
  'path',
  'status',
  'verdict',
  'reason',
  'code',
  'aborted',
  'ms',
  'msg',
]);

function extraFields(fields: Record<string, unknown> | undefined): string {
  if (fields === undefined) return '';
  let text = '';
  for (const [name, value] of Object.entries(fields))
    if (!CORE_FIELDS.has(name) && value !== undefined) text += `,${JSON.stringify(name)}:${JSON.stringify(value)}`;
  return text;
}

/**
 * The access line, byte for byte what `log.info({reqId, ip, method, path, status, verdict,
 * reason, code, aborted, ms}, 'request')` writes with the process logger's options, built without
 * pino's generic serializer (a tenth of a request's cost). `bindings` is the logger's
 * chindings (`,"node":"…"`). `reqId` (a UUID we made) and `ip` (canonical) need no escaping;
 * everything a client chose goes through JSON.stringify.
 */
export function accessLine(bindings: string, r: AccessRecord): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return (
    `{"level":"info","time":"${lastIso}"${bindings},"reqId":"${r.reqId}","ip":"${r.ip}","method":${JSON.stringify(r.method)},"path":${JSON.stringify(r.path)},"status":${r.status},"verdict":${JSON.stringify(r.verdict)}` +
    (r.reason === undefined ? '' : `,"reason":${JSON.stringify(r.reason)}`) +
    (r.code === undefined ? '' : `,"code":"${r.code}"`) +
    (r.aborted ? ',"aborted":true' : '') +
    extraFields(r.fields) +
    `,"ms":${r.ms},"msg":"request"}\n`
  );
}

/** The record as pino fields, in the line's order (`aborted` only when true). */
export function pinoFields(r: AccessRecord): Record<string, unknown> {
  const extra = r.fields ? Object.fromEntries(Object.entries(r.fields).filter(([name]) => !CORE_FIELDS.has(name))) : {};
  return {
    reqId: r.reqId,
    ip: r.ip,
    method: r.method,
    path: r.path,
    status: r.status,
    verdict: r.verdict,
    reason: r.reason,
    code: r.code,
    aborted: r.aborted || undefined,
    ...extra,
    ms: r.ms,
  };
}

/** Writes one access line. */
export type AccessWriter = (record: AccessRecord) => void;

/**
 * How to write access lines for `logger`: batched on its {@link StdoutLog} when that is its
 * destination, through pino otherwise (tests pass their own destination). Either way the
 * line is the same and respects the logger's level.
 */
export function accessWriter(logger: Logger): AccessWriter {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  if (!(stream instanceof StdoutLog)) {
    return (r) => logger.info(pinoFields(r), 'request');
  }
  const bindings = String((logger as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym] ?? '');
  return (record) => {
    if (logger.isLevelEnabled('info')) stream.writeBatched(accessLine(bindings, record));
  };
}
