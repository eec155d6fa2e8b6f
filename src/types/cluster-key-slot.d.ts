/** cluster-key-slot ships no types: the two functions Palisade uses. */
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot (0–16383) of `key`, hash tags included. */
  export default function calculateSlot(key: string | Buffer): number;
  /** The one slot of every key of `keys`, or -1 when they do not share one. */
  export function generateMulti(keys: Array<string | Buffer>): number;
}
