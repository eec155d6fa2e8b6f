import type { ErrorCode } from '../errors.js';

/** One problem with one setting, printed as `NAME: message (got "value")`. */
export interface SettingError {
  /** The variable the user has to fix (e.g. `REDIS_PORT` or `REDIS_PASSWORD_FILE`). */
  name: string;
  /** What is wrong, phrased to be read after the name. */
  message: string;
  /** What was given, already masked for secrets; absent when nothing was given. */
  got?: string;
  /** A more precise registry code than `PAL_SETTINGS_INVALID` (an unreadable file). */
  code?: ErrorCode;
}

/** Formats one error the way every Palisade surface prints it. */
export function formatSettingError(error: SettingError): string {
  const text = error.got === undefined ? `${error.name}: ${error.message}` : `${error.name}: ${error.message} (got ${JSON.stringify(error.got)})`;
  return error.code === undefined ? text : `${text} [${error.code}]`;
}

/** The mask shown in place of a secret value. */
export const SECRET_MASK = '***';
