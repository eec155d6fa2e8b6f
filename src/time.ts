/**
 * The largest time a ban's dates may hold: the end of year 9999, the last instant every
 * surface (ISO dates in the API and exports, the page, the CLI) writes as four-digit years.
 */
export const LATEST_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** True for an epoch-millisecond time that every surface can show (from 1970 to {@link LATEST_TIME_MS}). */
export function showableTime(ms: unknown): ms is number {
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 && ms <= LATEST_TIME_MS;
}

/** The ISO text of `ms`; null for a time no surface can show (a record from elsewhere), never a throw. */
export function isoTime(ms: number): string | null {
  return showableTime(ms) ? new Date(ms).toISOString() : null;
}
