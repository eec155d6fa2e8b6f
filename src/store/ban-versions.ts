import type { Ban, BanChange, Tombstone } from './types.js';

/** True when (version, node) `a` is newer than `b`. Ties on version go to the node name. */
export function isNewer(a: { version: number; node: string }, b: { version: number; node: string }): boolean {
  return a.version > b.version || (a.version === b.version && a.node > b.node);
}

/** The target `change` is about: its ban's, or the target its tombstone lifts (as written in the change). */
export function targetOf(change: BanChange): string {
  return change.op === 'ban' ? change.ban.target : change.tombstone.target;
}

/** The versioned body of `change`: its ban, or its tombstone. Either carries the target, version and node. */
export function bodyOf(change: BanChange): Ban | Tombstone {
  return change.op === 'ban' ? change.ban : change.tombstone;
}
