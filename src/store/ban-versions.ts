/** True when (version, node) `a` is newer than `b`. Ties on version go to the node name. */
export function isNewer(a: { version: number; node: string }, b: { version: number; node: string }): boolean {
  return a.version > b.version || (a.version === b.version && a.node > b.node);
}
