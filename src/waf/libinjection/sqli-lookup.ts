/**
 * Case-insensitive lookups in the SQL word list and the fingerprint list (sqli-data.ts).
 *
 * libinjection binary-searches one sorted array holding both; the generator checks that the
 * array is sorted and that words and fingerprints cannot meet, so exact-match tables answer the
 * same. Lookups run for most tokens of every value checked, so they fold case while hashing
 * instead of building upper-cased copies.
 */
import { FINGERPRINTS, WORDS_BY_TYPE } from './sqli-data.js';

/** Set in a word's table value when the word is also the left part of a multi-word entry. */
const HEAD = 0x100;
const TYPE_MASK = 0xff;

/** ASCII-only upper case (local, not imported: it runs for every char looked up; see TYPES). */
function upperCode(code: number): number {
  return code >= 0x61 && code <= 0x7a ? code - 0x20 : code;
}

/** FNV-1a over the a-z-upper-cased chars of `text`. */
function foldedHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ upperCode(text.charCodeAt(i)), 0x01000193);
  return h >>> 0;
}

/** Whether `text` upper-cased (a-z only) is `upper`. */
function foldedEquals(text: string, upper: string): boolean {
  if (text.length !== upper.length) return false;
  for (let i = 0; i < text.length; i++) if (upperCode(text.charCodeAt(i)) !== upper.charCodeAt(i)) return false;
  return true;
}

/** Open-addressing table from upper-case words to small numbers, queried in any case. */
class FoldedTable {
  private readonly keys: (string | undefined)[];
  private readonly values: Uint16Array;
  private readonly mask: number;
  readonly longest: number;

  constructor(entries: ReadonlyMap<string, number>) {
    let size = 16;
    while (size < entries.size * 3) size *= 2;
    this.keys = new Array<string | undefined>(size).fill(undefined);
    this.values = new Uint16Array(size);
    this.mask = size - 1;
    let longest = 0;
    for (const [key, value] of entries) {
      let slot = foldedHash(key) & this.mask;
      while (this.keys[slot] !== undefined) slot = (slot + 1) & this.mask;
      this.keys[slot] = key;
      this.values[slot] = value;
      if (key.length > longest) longest = key.length;
    }
    this.longest = longest;
  }

  /** The value of `text` compared case-insensitively (a-z), 0 when absent. */
  get(text: string): number {
    if (text.length === 0 || text.length > this.longest) return 0;
    let slot = foldedHash(text) & this.mask;
    for (;;) {
      const key = this.keys[slot];
      if (key === undefined) return 0;
      if (foldedEquals(text, key)) return this.values[slot] ?? 0;
      slot = (slot + 1) & this.mask;
    }
  }
}

const entries = new Map<string, number>();
const twoChar = new Map<number, number>();
for (const [type, list] of WORDS_BY_TYPE) {
  const code = type.charCodeAt(0);
  for (const lower of list.split('\n')) {
    const word = lower.toUpperCase();
    entries.set(word, (entries.get(word) ?? 0) | code);
    if (word.length === 2) twoChar.set(word.charCodeAt(0) * 0x10000 + word.charCodeAt(1), code);
    // Every left part of a phrase ("FOR", "FOR UPDATE" of "FOR UPDATE SKIP"), so that merging
    // words only builds the phrase when it can be in the list.
    for (let i = word.indexOf(' '); i > 0; i = word.indexOf(' ', i + 1)) {
      const head = word.slice(0, i);
      entries.set(head, (entries.get(head) ?? 0) | HEAD);
    }
  }
}
const words = new FoldedTable(entries);

/**
 * The word list's entry for `text`, compared case-insensitively (a-z only, as the C code folds):
 * 0 when absent, else the token type (see entryType), and a flag when the word starts phrases
 * (see startsPhrase).
 */
export function wordEntry(text: string): number {
  return words.get(text);
}

/** The token type of a wordEntry; 0 when the text is only the start of phrases. */
export function entryType(entry: number): number {
  return entry & TYPE_MASK;
}

/** Whether a wordEntry is the left part of a multi-word entry ("UNION" of "UNION ALL"). */
export function startsPhrase(entry: number): boolean {
  return (entry & HEAD) !== 0;
}

/** The token type of a SQL word or operator (case-insensitive), or 0 when not listed. */
export function wordType(text: string): number {
  return words.get(text) & TYPE_MASK;
}

/** wordType of the two chars at `at` in `s`, without building a string. */
export function pairType(s: string, at: number): number {
  return twoChar.get(upperCode(s.charCodeAt(at)) * 0x10000 + upperCode(s.charCodeAt(at + 1))) ?? 0;
}

// Fingerprints as numbers: each (upper-cased) letter a 5-bit code, so a set of small integers
// answers without hashing strings.
const LETTER_CODES = new Int8Array(128).fill(-1);
const fingerprintLetters = '&()+,.1:;?ABCEFKNOSTUVX\\{}';
for (let i = 0; i < fingerprintLetters.length; i++) LETTER_CODES[fingerprintLetters.charCodeAt(i)] = i;

/** The number for a fingerprint, or -1 when it cannot be on the list. */
function fingerprintKey(fingerprint: string): number {
  if (fingerprint.length > 5) return -1;
  let key = 0;
  for (let i = 0; i < fingerprint.length; i++) {
    const c = upperCode(fingerprint.charCodeAt(i));
    const code = c < 128 ? (LETTER_CODES[c] ?? -1) : -1;
    if (code < 0) return -1;
    key = key * 32 + code + 1;
  }
  return key;
}

const fingerprints = new Set<number>();
for (const fingerprint of FINGERPRINTS.split(/\s+/)) {
  if (fingerprint === '') continue;
  const key = fingerprintKey(fingerprint);
  if (key < 0) throw new Error(`sqli-data: fingerprint ${fingerprint} has an unknown letter`);
  fingerprints.add(key);
}

/** Whether a fingerprint (token type letters) is on the SQLi list, compared upper-cased. */
export function isListedFingerprint(fingerprint: string): boolean {
  const key = fingerprintKey(fingerprint);
  return key >= 0 && fingerprints.has(key);
}
