/**
 * An open-addressing hash table from fixed-width addresses (1 word for IPv4, 4 for IPv6)
 * to a number — an expiry in a worker's ban membership, a slot in the primary's ban table —
 * held in typed arrays: a million bans cost a few bytes each instead of an object and a
 * string. Linear probing; deleted slots are marked and reclaimed when the table is rebuilt.
 */
export class AddressTable {
  private keys: Uint32Array;
  /** The number of each entry. */
  private expiries: Float64Array;
  /** 0 empty, 1 used, 2 deleted. */
  private states: Uint8Array;
  private capacity: number;
  private used = 0;
  private deleted = 0;

  constructor(
    /** 32-bit words per key: 1 (IPv4) or 4 (IPv6). */
    private readonly words: 1 | 4,
    initialCapacity = 16,
  ) {
    this.capacity = powerOfTwoAtLeast(initialCapacity);
    this.keys = new Uint32Array(this.capacity * words);
    this.expiries = new Float64Array(this.capacity);
    this.states = new Uint8Array(this.capacity);
  }

  /** Entries held (expired ones included until {@link sweep}). */
  get size(): number {
    return this.used;
  }

  /** Inserts or replaces the entry of `key` (its first `words` words). */
  set(key: ArrayLike<number>, value: number): void {
    if ((this.used + this.deleted + 1) * 4 > this.capacity * 3) this.rebuild(this.used + 1);
    // One probe: the key's slot if it is there, else the first free slot on its path.
    const mask = this.capacity - 1;
    let free = -1;
    let slot = this.hash(key);
    for (;;) {
      const state = this.states[slot];
      if (state === 0) break;
      if (state === 1) {
        if (this.matches(slot, key)) {
          this.expiries[slot] = value;
          return;
        }
      } else if (free === -1) free = slot;
      slot = (slot + 1) & mask;
    }
    if (free === -1) free = slot;
    else this.deleted--;
    this.states[free] = 1;
    const at = free * this.words;
    for (let i = 0; i < this.words; i++) this.keys[at + i] = key[i]! >>> 0;
    this.expiries[free] = value;
    this.used++;
  }

  /** The number of `key`, or undefined when absent. */
  get(key: ArrayLike<number>): number | undefined {
    const slot = this.slotOf(key);
    return slot >= 0 ? this.expiries[slot] : undefined;
  }

  /** Removes `key`; true when it was there. */
  delete(key: ArrayLike<number>): boolean {
    const slot = this.slotOf(key);
    if (slot < 0) return false;
    this.states[slot] = 2;
    this.used--;
    this.deleted++;
    return true;
  }

  /** Removes every entry whose number `drop` says goes; returns how many went. */
  sweep(drop: (value: number) => boolean): number {
    let removed = 0;
    for (let slot = 0; slot < this.capacity; slot++) {
      if (this.states[slot] === 1 && drop(this.expiries[slot]!)) {
        this.states[slot] = 2;
        removed++;
      }
    }
    this.used -= removed;
    this.deleted += removed;
    if (this.deleted * 2 > this.capacity) this.rebuild(this.used);
    return removed;
  }

  /** Calls `visit` with every entry's key words and number. */
  forEach(visit: (key: Uint32Array, value: number) => void): void {
    for (let slot = 0; slot < this.capacity; slot++) {
      if (this.states[slot] === 1) visit(this.keys.subarray(slot * this.words, (slot + 1) * this.words), this.expiries[slot]!);
    }
  }

  private hash(key: ArrayLike<number>): number {
    let h = Math.imul(key[0]! ^ 0x9e3779b9, 0x85ebca6b);
    if (this.words === 4) {
      h = Math.imul(h ^ key[1]!, 0xc2b2ae35);
      h = Math.imul(h ^ key[2]!, 0x85ebca6b);
      h = Math.imul(h ^ key[3]!, 0xc2b2ae35);
    }
    h ^= h >>> 16;
    return (h >>> 0) & (this.capacity - 1);
  }

  private matches(slot: number, key: ArrayLike<number>): boolean {
    const at = slot * this.words;
    if (this.keys[at] !== key[0]! >>> 0) return false;
    if (this.words === 1) return true;
    return this.keys[at + 1] === key[1]! >>> 0 && this.keys[at + 2] === key[2]! >>> 0 && this.keys[at + 3] === key[3]! >>> 0;
  }

  /** The used slot holding `key`, or -1. */
  private slotOf(key: ArrayLike<number>): number {
    const mask = this.capacity - 1;
    for (let slot = this.hash(key), probes = 0; probes < this.capacity; slot = (slot + 1) & mask, probes++) {
      const state = this.states[slot];
      if (state === 0) return -1;
      if (state === 1 && this.matches(slot, key)) return slot;
    }
    return -1;
  }

  /** The first empty or deleted slot on `key`'s probe path (the table is never full). */
  private freeSlot(key: ArrayLike<number>): number {
    const mask = this.capacity - 1;
    let slot = this.hash(key);
    while (this.states[slot] === 1) slot = (slot + 1) & mask;
    return slot;
  }

  /** Re-inserts every entry into a table sized for `entries` at most half full. */
  private rebuild(entries: number): void {
    const { keys, expiries, states, capacity, words } = this;
    this.capacity = powerOfTwoAtLeast(Math.max(16, entries * 2));
    this.keys = new Uint32Array(this.capacity * words);
    this.expiries = new Float64Array(this.capacity);
    this.states = new Uint8Array(this.capacity);
    this.used = 0;
    this.deleted = 0;
    for (let slot = 0; slot < capacity; slot++) {
      if (states[slot] !== 1) continue;
      const key = keys.subarray(slot * words, (slot + 1) * words);
      const free = this.freeSlot(key);
      this.states[free] = 1;
      this.keys.set(key, free * words);
      this.expiries[free] = expiries[slot]!;
      this.used++;
    }
  }
}

function powerOfTwoAtLeast(n: number): number {
  let capacity = 16;
  while (capacity < n) capacity *= 2;
  return capacity;
}
