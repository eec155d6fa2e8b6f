import v8 from 'node:v8';
import vm from 'node:vm';

/** Entries a bulk transfer must have moved before a full collection is worth its pause. */
export const BULK_ENTRIES = 50_000;

let collect: (() => void) | undefined;

/**
 * Runs a full garbage collection now, so the memory a bulk transfer left behind goes back to
 * the system. While a full resync or a worker's initial load streams a large ban list, the
 * pieces in flight outlive young-generation collections and are promoted: the old space
 * grows to several times what stays alive, and V8 shrinks it only after a full collection,
 * which an idle process may not run for a long time — its RSS would stay at the peak.
 * Pauses this process for tens of milliseconds (a heap of ~150 MB): only after bulk work,
 * see {@link BULK_ENTRIES}. (`--expose-gc` set at run time exposes `gc` to new contexts only.)
 */
export function collectGarbage(): void {
  if (!collect) {
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as () => void;
  }
  collect();
}
