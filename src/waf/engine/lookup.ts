/** Helpers of the transaction: keyed stores, XML items, macro targets, ids. */
import { randomBytes } from 'node:crypto';
import { expandMacro, type MacroResolver } from '../macro.js';
import { isLiveVariable } from '../seclang/variable-names.js';
import { KeyedStore, makeItem, type Item, type TxData } from './data.js';
import type { Target } from './rule.js';

/** Values longer than this make a request "heavy": its inspection time is watched. */
export const HEAVY_VALUE = 4096;

const PERSISTENT = new Set(['IP', 'GLOBAL', 'SESSION', 'USER', 'RESOURCE']);

/** The keyed store behind TX, ENV and the per-transaction "persistent" collections. */
export function storeFor(d: TxData, c: string): KeyedStore | undefined {
  if (c === 'TX') return d.tx;
  if (c === 'ENV') return d.env;
  if (!PERSISTENT.has(c)) return undefined;
  let s = d.persistent.get(c);
  if (!s) {
    s = new KeyedStore(c);
    d.persistent.set(c, s);
  }
  return s;
}

/** `XML:/*` (all text) and `XML://@*` (each attribute value); other paths select nothing. */
export function xmlItems(d: TxData, target: Target): Item[] {
  const doc = d.xml;
  if (!doc || target.match.kind !== 'xpath') return [];
  const path = target.match.path;
  if (path === '/*') return [makeItem('XML:/*', '/*', doc.text)];
  if (path === '//@*') return doc.attributes.map((value) => makeItem('XML://@*', '//@*', value));
  return [];
}

const refTargets = new Map<string, Target>();

/** The target a macro reference `%{collection.key}` reads (shared, immutable). */
export function refTarget(collection: string, key: string | undefined): Target {
  const id = `${collection}:${key ?? ''}`;
  let t = refTargets.get(id);
  if (!t) {
    // Same property order as compiled targets (one object shape for the hot paths).
    t = {
      collection,
      count: false,
      text: id,
      slot: -1,
      live: isLiveVariable(collection),
      match: key === undefined ? { kind: 'all' } : { kind: 'key', lower: key.toLowerCase() },
    };
    if (refTargets.size < 10_000) refTargets.set(id, t);
  }
  return t;
}

const ID_PREFIX = randomBytes(8).toString('hex');
let idCounter = 0;

/** UNIQUE_ID: unique per process and transaction without a random draw per request. */
export function nextUniqueId(): string {
  idCounter = (idCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${ID_PREFIX}${idCounter.toString(16).padStart(12, '0')}`;
}

/** `RULE.id`, `RULE.msg`… of the rule being evaluated (msg and logdata macro-expanded). */
export function ruleFieldOf(d: TxData, key: string, resolve: MacroResolver): string | undefined {
  const r = d.currentRule;
  if (!r) return undefined;
  switch (key) {
    case 'id':
      return String(r.id);
    case 'msg':
      return r.msg ? expandMacro(r.msg, resolve) : undefined;
    case 'logdata':
      return r.logdata ? expandMacro(r.logdata, resolve) : undefined;
    case 'severity':
      return r.severity;
    case 'rev':
      return r.rev;
    case 'ver':
      return r.ver;
    case 'phase':
      return String(r.phase);
  }
  return undefined;
}
