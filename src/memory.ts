import v8 from 'node:v8';
import vm from 'node:vm';

/** Entries a bulk transfer must have moved before a full collection is worth its pause. */
const BULK_ENTRIES = 50_000;

let collect: (() => void) | undefined;

/**
 * Runs a full garbage collection now, so the memory a bulk transfer left behind goes back to
 * the system. While a full resync or a worker's initial load streams a large ban list, the
 * pieces in flight outlive young-generation collections and are promoted: the old space
 * grows to several times what stays alive, and V8 shrinks it only after a full collection,
 * which an idle process may not run for a long time — its RSS would stay at the peak.
 * Pauses this process for tens to hundreds of milliseconds: only before the process serves
 * — a pause longer than `REDIS_REQUEST_TIMEOUT` would time out the Redis calls in flight —
 * and only after bulk work (see {@link collectAfterBulkLoad}). (`--expose-gc` set at run time exposes `gc` to new contexts only.)
 */
export function collectGarbage(): void {
  if (!collect) {
    try {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as () => void;
    } catch {
      // A runtime that refuses the flag: V8 collects when it sees fit, as without this call.
      collect = () => undefined;
    }
  }
  collect();
}

/** {@link collectGarbage} after a load of `entries` bans, when that many are worth the pause. */
export function collectAfterBulkLoad(entries: number): void {
  if (entries >= BULK_ENTRIES) collectGarbage();
}
