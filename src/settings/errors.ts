/** One problem with one setting, printed as `NAME: message (got "value")`. */
export interface SettingError {
  /** The variable the user has to fix (e.g. `REDIS_PORT` or `REDIS_PASSWORD_FILE`). */
  name: string;
  /** What is wrong, phrased to be read after the name. */
  message: string;
  /** What was given, already masked for secrets; absent when nothing was given. */
  got?: string;
}

/** Formats one error the way every Palisade surface prints it. */
export function formatSettingError(error: SettingError): string {
  return error.got === undefined
    ? `${error.name}: ${error.message}`
    : `${error.name}: ${error.message} (got ${JSON.stringify(error.got)})`;
}

/** The mask shown in place of a secret value. */
export const SECRET_MASK = '***';
