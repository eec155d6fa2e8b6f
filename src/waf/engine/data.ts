/** Per-transaction variable storage. */
import type { Pair } from '../body/types.js';
import type { FilePart, MultipartFlags } from '../body/multipart.js';
import type { XmlDocument } from '../body/xml.js';
import type { RequestLineVars } from './request-line.js';
import type { Rule } from './rule.js';

/** A value as a rule sees it: `name` is what MATCHED_VAR_NAME reports (e.g. "ARGS:id"). */
export interface Item {
  name: string;
  key: string;
  value: string;
  /** Transformation results by chain id, filled lazily by the transaction. */
  tc: Array<string | undefined> | undefined;
  /** `key` lower-cased, filled lazily (selectors compare case-insensitively). */
  lk: string | undefined;
  /** Prefilter verdicts by chain id + 1 (0 = untransformed), filled lazily by the evaluator. */
  pv: Array<Uint8Array | undefined> | undefined;
}

/** Creates an item. Every item is made here so they all share one object shape. */
export function makeItem(name: string, key: string, value: string): Item {
  return { name, key, value, tc: undefined, lk: undefined, pv: undefined };
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
  readonly map = new Map<string, { item: Item; one: readonly Item[] }>();
  /** Bumped on every change, so cached item lists can tell they are stale. */
  version = 0;
  constructor(private readonly collection: string) {}
  get(key: string): string | undefined {
    return this.map.get(key.toLowerCase())?.item.value;
  }
  /** The item under an already lower-cased key, as a one-element list (or empty). */
  lookup(lower: string): readonly Item[] {
    return this.map.get(lower)?.one ?? NONE;
  }
  set(key: string, value: string): void {
    const lower = key.toLowerCase();
    const existing = this.map.get(lower);
    const stored = existing?.item.key ?? key;
    const created = makeItem(`${this.collection}:${stored}`, stored, value);
    this.map.set(lower, { item: created, one: [created] });
    this.version++;
  }
  delete(key: string): void {
    if (this.map.delete(key.toLowerCase())) this.version++;
  }
  /** All items, in insertion order. */
  items(): Item[] {
    const out: Item[] = [];
    for (const e of this.map.values()) out.push(e.item);
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
  currentRule: Rule | undefined;
  remoteAddr: string;
  remotePort: number;
  serverPort: number;
  serverName: string;
  uniqueId: string;
  startTime: number;
}
