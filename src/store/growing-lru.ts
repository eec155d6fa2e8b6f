import { LRUCache } from 'lru-cache';

/**
 * An LRU cache of at most `capacity` entries that takes memory as it fills. lru-cache
 * allocates a cache bounded by `max` whole when it is made (arrays of `max` slots each): a
 * node paid that at every boot, in time and resident memory, for caches that mostly stay
 * small. Bounded by size instead, each entry counting one, it grows as entries come and
 * evicts the least recently used past `capacity`, as a `max` cache does.
 */
export function growingLru<K extends {}, V extends {}>(capacity: number, options: { ttlAutopurge?: boolean } = {}): LRUCache<K, V> {
  return new LRUCache<K, V>({ ...options, maxSize: capacity, sizeCalculation: () => 1 });
}
