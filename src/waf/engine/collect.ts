/**
 * Resolves rule targets to the values a rule inspects. Base lists of the request
 * collections are built once per transaction (and rebuilt only when the body adds
 * arguments); TX and MATCHED_* are read live.
 */
import type { Pair } from '../body/types.js';
import { lowerKey, makeItem, type Item, type KeyedStore, type TxData } from './data.js';
import { nextUniqueId } from './lookup.js';
import type { KeyMatcher, Target } from './rule.js';

const EMPTY: Item[] = [];

/**
 * Variables whose values are fixed when the transaction begins (request line, headers,
 * cookies, query arguments, connection): their selections and scans survive the body
 * being parsed. Everything else may change with the body.
 */
const FIXED = new Set([
  'REQUEST_HEADERS',
  'REQUEST_HEADERS_NAMES',
  'REQUEST_COOKIES',
  'REQUEST_COOKIES_NAMES',
  'ARGS_GET',
  'ARGS_GET_NAMES',
  'REQUEST_FILENAME',
  'REQUEST_BASENAME',
  'REQUEST_URI',
  'REQUEST_URI_RAW',
  'REQUEST_LINE',
  'REQUEST_METHOD',
  'REQUEST_PROTOCOL',
  'QUERY_STRING',
  'REMOTE_ADDR',
  'REMOTE_PORT',
  'SERVER_PORT',
  'SERVER_NAME',
]);

/** True when `collection`'s values cannot change once the transaction has begun. */
export function fixedBeforeBody(collection: string): boolean {
  return FIXED.has(collection);
}

function pairs(collection: string, list: readonly Pair[]): Item[] {
  return list.map((p) => makeItem(`${collection}:${p.key}`, p.key, p.value));
}

function names(collection: string, list: readonly Pair[]): Item[] {
  return list.map((p) => makeItem(`${collection}:${p.key}`, p.key, p.key));
}

function store(s: KeyedStore): Item[] {
  return s.items();
}

function scalar(name: string, value: string | number | undefined): Item[] {
  return value === undefined ? EMPTY : [makeItem(name, '', String(value))];
}

/** Builds the full item list of a variable (before selectors and exclusions). */
export function baseItems(collection: string, d: TxData, rule: (key: string) => string | undefined): Item[] {
  switch (collection) {
    case 'ARGS':
      return [...pairs('ARGS', d.argsGet), ...pairs('ARGS', d.argsPost)];
    case 'ARGS_GET':
      return pairs('ARGS_GET', d.argsGet);
    case 'ARGS_POST':
      return pairs('ARGS_POST', d.argsPost);
    case 'ARGS_NAMES':
      return [...names('ARGS_NAMES', d.argsGet), ...names('ARGS_NAMES', d.argsPost)];
    case 'ARGS_GET_NAMES':
      return names('ARGS_GET_NAMES', d.argsGet);
    case 'ARGS_POST_NAMES':
      return names('ARGS_POST_NAMES', d.argsPost);
    case 'ARGS_COMBINED_SIZE': {
      let size = 0;
      for (const p of d.argsGet) size += p.key.length + p.value.length;
      for (const p of d.argsPost) size += p.key.length + p.value.length;
      return scalar('ARGS_COMBINED_SIZE', size);
    }
    case 'REQUEST_HEADERS':
      return pairs('REQUEST_HEADERS', d.headers);
    case 'REQUEST_HEADERS_NAMES':
      return names('REQUEST_HEADERS_NAMES', d.headers);
    case 'REQUEST_COOKIES':
      return pairs('REQUEST_COOKIES', d.cookies);
    case 'REQUEST_COOKIES_NAMES':
      return names('REQUEST_COOKIES_NAMES', d.cookies);
    case 'FILES':
      return d.files.map((f) => makeItem(`FILES:${f.name}`, f.name, f.filename));
    case 'FILES_NAMES':
      return d.files.map((f) => makeItem(`FILES_NAMES:${f.name}`, f.name, f.name));
    case 'FILES_SIZES':
      return d.files.map((f) => makeItem(`FILES_SIZES:${f.name}`, f.name, String(f.size)));
    case 'FILES_COMBINED_SIZE':
      return scalar(
        'FILES_COMBINED_SIZE',
        d.files.reduce((n, f) => n + f.size, 0),
      );
    case 'MULTIPART_PART_HEADERS':
      return pairs('MULTIPART_PART_HEADERS', d.partHeaders);
    case 'MULTIPART_FILENAME':
      return d.files.map((f) => makeItem(`MULTIPART_FILENAME:${f.name}`, f.name, f.filename));
    case 'MULTIPART_NAME':
      return [...d.files.map((f) => f.name), ...(d.multipartFlags ? d.argsPost.map((p) => p.key) : [])].map((n) => makeItem(`MULTIPART_NAME:${n}`, n, n));
    case 'REQUEST_FILENAME':
      return scalar(collection, d.line.filename);
    case 'REQUEST_BASENAME':
      return scalar(collection, d.line.basename);
    case 'REQUEST_URI':
      return scalar(collection, d.line.uri);
    case 'REQUEST_URI_RAW':
      return scalar(collection, d.line.uriRaw);
    case 'REQUEST_LINE':
      return scalar(collection, d.line.requestLine);
    case 'REQUEST_METHOD':
      return scalar(collection, d.line.method);
    case 'REQUEST_PROTOCOL':
      return scalar(collection, d.line.protocol);
    case 'QUERY_STRING':
      return scalar(collection, d.line.queryString);
    case 'REQUEST_BODY':
      return scalar(collection, d.body);
    case 'REQUEST_BODY_LENGTH':
      return scalar(collection, d.bodyLength);
    case 'REQBODY_ERROR':
    case 'REQBODY_PROCESSOR_ERROR':
      return scalar(collection, d.reqbodyError);
    case 'REQBODY_ERROR_MSG':
    case 'REQBODY_PROCESSOR_ERROR_MSG':
      return scalar(collection, d.reqbodyErrorMsg);
    case 'REQBODY_PROCESSOR':
      return scalar(collection, d.processor);
    case 'MULTIPART_STRICT_ERROR':
      return scalar(collection, d.multipartStrictError);
    case 'REMOTE_ADDR':
      return scalar(collection, d.remoteAddr);
    case 'REMOTE_PORT':
      return scalar(collection, d.remotePort);
    case 'SERVER_PORT':
      return scalar(collection, d.serverPort);
    case 'SERVER_NAME':
      return scalar(collection, d.serverName);
    case 'UNIQUE_ID':
      return scalar(collection, (d.uniqueId ??= nextUniqueId()));
    case 'DURATION':
      return scalar(collection, Math.round((performance.now() - d.startTime) * 1000));
    case 'MATCHED_VAR':
      return scalar(collection, d.matchedVar);
    case 'MATCHED_VAR_NAME':
      return scalar(collection, d.matchedVarName);
    case 'MATCHED_VARS':
      return d.matchedVars.map((m) => makeItem(`MATCHED_VARS:${m.name}`, m.name, m.value));
    case 'MATCHED_VARS_NAMES':
      return d.matchedVars.map((m) => makeItem(`MATCHED_VARS_NAMES:${m.name}`, m.name, m.name));
    case 'TX':
      return store(d.tx);
    case 'ENV':
      return store(d.env);
    case 'IP':
    case 'GLOBAL':
    case 'SESSION':
    case 'USER':
    case 'RESOURCE': {
      const s = d.persistent.get(collection);
      return s ? store(s) : EMPTY;
    }
    case 'RULE': {
      const out: Item[] = [];
      for (const k of ['id', 'msg', 'severity', 'logdata', 'rev', 'ver', 'phase']) {
        const v = rule(k);
        if (v !== undefined) out.push(makeItem(`RULE:${k}`, k, v));
      }
      return out;
    }
    case 'XML':
      return EMPTY; // resolved by xpath in selectItems
    case 'WEBSERVER_ERROR_LOG':
    case 'STATUS':
    case 'RESPONSE_BODY':
    case 'RESPONSE_STATUS':
    case 'RESPONSE_HEADERS':
    case 'RESPONSE_HEADERS_NAMES':
    case 'RESPONSE_PROTOCOL':
    case 'RESPONSE_CONTENT_LENGTH':
    case 'RESPONSE_CONTENT_TYPE':
      return EMPTY;
  }
  if (collection.startsWith('TIME') || collection === 'TIME') return timeItems(collection, d);
  if (collection.startsWith('MULTIPART_')) {
    const v = d.multipartFlags?.[collection as keyof NonNullable<TxData['multipartFlags']>];
    return scalar(collection, v);
  }
  return EMPTY;
}

function timeItems(collection: string, d: TxData): Item[] {
  const now = new Date();
  const two = (n: number): string => String(n).padStart(2, '0');
  const values: Record<string, string> = {
    TIME: `${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}`,
    TIME_DAY: String(now.getDate()),
    TIME_EPOCH: String(Math.floor(now.getTime() / 1000)),
    TIME_HOUR: String(now.getHours()),
    TIME_MIN: String(now.getMinutes()),
    TIME_MON: String(now.getMonth() + 1),
    TIME_SEC: String(now.getSeconds()),
    TIME_WDAY: String(now.getDay()),
    TIME_YEAR: String(now.getFullYear()),
  };
  void d;
  return scalar(collection, values[collection]);
}

/** A regex selector on a key (`lower`: the key lower-cased). */
export function regexKeyMatches(m: Extract<KeyMatcher, { kind: 'regex' }>, key: string, lower: string): boolean {
  if (m.prefix !== undefined) return lower.startsWith(m.prefix);
  if (m.needles !== undefined && !m.needles.some((n) => lower.includes(n))) return false;
  return m.regex.test(key);
}

/** True when `key` is selected by `m`. */
export function keyMatches(m: KeyMatcher, item: Item): boolean {
  switch (m.kind) {
    case 'all':
      return true;
    case 'key':
      return item.key.length === m.lower.length && lowerKey(item) === m.lower;
    case 'regex':
      return regexKeyMatches(m, item.key, lowerKey(item));
    case 'xpath':
      return false;
  }
}

/** Applies the target's selector, and removes excluded keys of the same collection. */
export function selectItems(base: readonly Item[], target: Target, exclusions: readonly Target[]): readonly Item[] {
  let items: readonly Item[] = base;
  if (target.match.kind !== 'all') {
    const m = target.match;
    items = base.filter((it) => keyMatches(m, it));
  }
  return excludeItems(items, target.collection, exclusions);
}

/** Removes the items of `collection` that an exclusion of that collection selects. */
export function excludeItems(items: readonly Item[], collection: string, exclusions: readonly Target[]): readonly Item[] {
  let out = items;
  for (const ex of exclusions) {
    if (out.length === 0) break;
    if (ex.collection !== collection) continue;
    out = out.filter((it) => !keyMatches(ex.match, it));
  }
  return out;
}
