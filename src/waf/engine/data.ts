/** Per-transaction variable storage. */
import type { Pair } from '../body/types.js';
import type { FilePart, MultipartFlags } from '../body/multipart.js';
import type { XmlDocument } from '../body/xml.js';
import type { RequestLineVars } from './request-line.js';
import type { Rule } from './rule.js';
import type { ValueEntry } from './value-entry.js';

/** A value as a rule sees it: `name` is what MATCHED_VAR_NAME reports (e.g. "ARGS:id"). */
export interface Item {
  name: string;
  key: string;
  value: string;
  /** Transformations and prefilter hits of the value (see value-cache.ts), found lazily. */
  vc: ValueEntry | undefined;
  /** `key` lower-cased, filled lazily (selectors compare case-insensitively). */
  lk: string | undefined;
}

/** Creates an item. Every item is made here so they all share one object shape. */
export function makeItem(name: string, key: string, value: string): Item {
  return { name, key, value, vc: undefined, lk: undefined };
}

/** `item.key` lower-cased, memoised on the item. */
export function lowerKey(it: Item): string {
  let k = it.lk;
  if (k === undefined) {
    k = it.key.toLowerCase();
    it.lk = k;
  }
  return k;
}

const NONE: readonly Item[] = [];

/**
 * A case-insensitive keyed collection that remembers the key as first written (TX,
 * IP…). Values are stored as ready-made items; a write replaces the item, so items a
 * rule already matched keep the value they had.
 */
export class KeyedStore {
  /**
   * Lower-cased key → a one-element list holding the current item. A write puts a new
   * item into the same list, so look-ups hand out the list without allocating.
   */
  readonly map = new Map<string, Item[]>();
  /** Bumped on every change, so cached item lists can tell they are stale. */
  version = 0;
  /** When set, every write is appended here (key as written; undefined value = delete). */
  journal: Array<[string, string | undefined]> | undefined;
  constructor(private readonly collection: string) {}
  get(key: string): string | undefined {
    return this.map.get(key.toLowerCase())?.[0]?.value;
  }
  /** The value under an already lower-cased key. */
  getLower(lower: string): string | undefined {
    return this.map.get(lower)?.[0]?.value;
  }
  /** The item under an already lower-cased key, as a one-element list (or empty). */
  lookup(lower: string): readonly Item[] {
    return this.map.get(lower) ?? NONE;
  }
  set(key: string, value: string): void {
    this.put(key.toLowerCase(), key, value);
  }
  /** `set` with the key already lower-cased (`lower`). */
  put(lower: string, key: string, value: string): void {
    if (this.journal) this.journal.push([key, value]);
    const one = this.map.get(lower);
    if (one === undefined) this.map.set(lower, [makeItem(`${this.collection}:${key}`, key, value)]);
    else {
      const old = one[0] as Item;
      one[0] = makeItem(old.name, old.key, value);
    }
    this.version++;
  }
  /**
   * Writes a ready-made item under `lower` (its key lower-cased), as `put` would write its
   * value: the item is stored as it is where the key was first written the same way, so a
   * replayed write (constant-memo.ts) allocates nothing. Items are never changed once made,
   * so one may sit in the stores of many transactions.
   */
  putItem(lower: string, item: Item): void {
    if (this.journal) this.journal.push([item.key, item.value]);
    const one = this.map.get(lower);
    if (one === undefined) this.map.set(lower, [item]);
    else {
      const old = one[0] as Item;
      one[0] = old.key === item.key ? item : makeItem(old.name, old.key, item.value);
    }
    this.version++;
  }
  delete(key: string): void {
    if (this.journal) this.journal.push([key, undefined]);
    if (this.map.delete(key.toLowerCase())) this.version++;
  }
  /** The items whose key `test` accepts (given the key as stored and lower-cased), in insertion order. */
  matching(test: (key: string, lower: string) => boolean): Item[] {
    const out: Item[] = [];
    for (const [lower, one] of this.map) {
      const item = one[0] as Item;
      if (test(item.key, lower)) out.push(item);
    }
    return out;
  }
  /** All items, in insertion order. */
  items(): Item[] {
    const out: Item[] = [];
    for (const one of this.map.values()) out.push(one[0] as Item);
    return out;
  }
}

/** Everything the rules can read during one transaction. */
export interface TxData {
  line: RequestLineVars;
  headers: Pair[];
  cookies: Pair[];
  argsGet: Pair[];
  argsPost: Pair[];
  files: FilePart[];
  partHeaders: Pair[];
  multipartFlags: MultipartFlags | undefined;
  multipartStrictError: number | undefined;
  body: string | undefined;
  bodyLength: number;
  processor: string;
  reqbodyError: number;
  reqbodyErrorMsg: string;
  xml: XmlDocument | undefined;
  tx: KeyedStore;
  /** IP, GLOBAL, SESSION, USER, RESOURCE: per transaction only. */
  persistent: Map<string, KeyedStore>;
  env: KeyedStore;
  matchedVar: string;
  matchedVarName: string;
  matchedVars: Item[];
  /** Bumped whenever MATCHED_VAR is set (lets the constant-rule memo tell whether a rule matched anything). */
  matchSerial: number;
  currentRule: Rule | undefined;
  remoteAddr: string;
  remotePort: number;
  serverPort: number;
  serverName: string;
  /** Made when first read (few rule sets use it). */
  uniqueId: string | undefined;
  startTime: number;
}
