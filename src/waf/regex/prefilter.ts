/**
 * Literal prefilters for regexes. From a translated pattern we derive sets of
 * lower-cased literals such that any match contains at least one literal of each set.
 * If a value (lower-cased) misses a set, the regex cannot match and is not run. Most
 * CRS regexes name keywords (`select`, `<script`, `/etc/`), so on clean traffic almost
 * no regex runs. The analysis is conservative: anything it does not understand yields
 * "no prefilter" (always run the regex).
 */

/** What a sub-pattern tells us: its exact strings (when few) and literals required in any match. */
interface Info {
  /** Every string the node can match, when that set is small; null otherwise. */
  exact: Set<string> | null;
  /** Every match contains a literal of each of these sets (best first, at most MAX_REQS). */
  reqs: Array<Set<string>>;
}

const MAX_EXACT = 64;
/** A counted repeat `x{n}` (or a single item) may list more strings, as long as they are not multiplied further. */
const MAX_EXACT_ITEM = 512;
const MAX_LEN = 12;
const MAX_CLASS = 4;
const MAX_REQS = 3;
/** Sets after the best one are kept only when this selective (see score). */
const MIN_EXTRA_SCORE = 5;

const EMPTY: Info = { exact: new Set(['']), reqs: [] };
const UNKNOWN: Info = { exact: null, reqs: [] };

function fold(c: string): string {
  const code = c.charCodeAt(0);
  return code >= 0x41 && code <= 0x5a ? String.fromCharCode(code + 32) : c;
}

/**
 * The literal sets a match must contain one literal of each of (most selective first),
 * or undefined when no useful prefilter exists. `flags` are the regex's: without `i`,
 * bytes above 0x7F are matched exactly and may be literals; with `i`, JavaScript folds
 * some of them (é/É) and they are left out.
 */
export function requiredLiteralSets(source: string, flags = 'i'): string[][] | undefined {
  const p = new Parser(source, !flags.includes('i'));
  let info: Info;
  try {
    info = p.alternation();
    if (p.pos < source.length) return undefined;
  } catch {
    return undefined;
  }
  const sets = asReqs(info).filter((set, k) => set.size > 0 && !set.has('') && (k === 0 || score(set) >= MIN_EXTRA_SCORE));
  return sets.length === 0 ? undefined : sets.map((set) => [...set]);
}

/** The most selective literal set of `requiredLiteralSets`. */
export function requiredLiterals(source: string, flags = 'i'): string[] | undefined {
  return requiredLiteralSets(source, flags)?.[0];
}

/**
 * How unlikely a literal is in ordinary traffic. Any choice is correct; a rarer one
 * lets more values skip the regex. Longer literals are rarer; a lone letter or digit
 * occurs in nearly every value, and markup, quotes and control bytes are rarer than
 * the punctuation of URLs and headers.
 */
function rarity(lit: string): number {
  if (lit.length > 1) return lit.length * 8;
  const c = lit.charCodeAt(0);
  if (c < 0x20 || c === 0x7f) return 14;
  if (/[a-z0-9]/.test(lit)) return 2;
  if ('<>\'"`{}[]$|\\!^~#@'.includes(lit)) return 12;
  return 6;
}

/** How selective a literal set is: its most common literal, penalised by its size. */
function score(s: Set<string>): number {
  return Math.min(...[...s].map(rarity)) - Math.log2(s.size + 1);
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

/** `reqs` plus `more`, without duplicates, the MAX_REQS most selective first. */
function mergeReqs(reqs: Array<Set<string>>, more: Array<Set<string>>): Array<Set<string>> {
  const out = [...reqs];
  for (const r of more) if (r.size > 0 && !r.has('') && !out.some((o) => sameSet(o, r))) out.push(r);
  return out.sort((a, b) => score(b) - score(a)).slice(0, MAX_REQS);
}

/** The requirements of `info`, its exact strings first when they exclude the empty match. */
function asReqs(info: Info): Array<Set<string>> {
  if (info.exact && !info.exact.has('')) return mergeReqs([info.exact], info.reqs);
  return info.reqs;
}

class Parser {
  pos = 0;
  /** `highBytes`: bytes above 0x7F may be literals (the regex has no `i` flag). */
  constructor(
    private readonly s: string,
    private readonly highBytes: boolean,
  ) {}

  private literalInfo(c: string): Info {
    return c.charCodeAt(0) > 0x7f && !this.highBytes ? UNKNOWN : { exact: new Set([fold(c)]), reqs: [] };
  }

  alternation(): Info {
    const branches: Info[] = [this.sequence()];
    while (this.s[this.pos] === '|') {
      this.pos++;
      branches.push(this.sequence());
    }
    if (branches.length === 1) return branches[0] as Info;
    // A match satisfies one branch: it contains a literal of the union of any one set per
    // branch. Several such unions are all required: the k-th uses each branch's k-th set.
    let exact: Set<string> | null = new Set();
    for (const b of branches) {
      if (exact && b.exact && exact.size + b.exact.size <= MAX_EXACT) for (const e of b.exact) exact.add(e);
      else exact = null;
    }
    const perBranch = branches.map(asReqs);
    if (perBranch.some((r) => r.length === 0)) return { exact, reqs: [] };
    const unions: Array<Set<string>> = [];
    for (let k = 0; k < MAX_REQS; k++) {
      const union = new Set<string>();
      for (const r of perBranch) for (const e of r[Math.min(k, r.length - 1)] as Set<string>) union.add(e);
      unions.push(union);
    }
    return { exact, reqs: mergeReqs([], unions) };
  }

  sequence(): Info {
    let exact: Set<string> | null = new Set(['']);
    let reqs: Array<Set<string>> = [];
    // `complete` stays true while `exact` still lists every string the whole sequence matches.
    let complete = true;
    while (this.pos < this.s.length && this.s[this.pos] !== '|' && this.s[this.pos] !== ')') {
      const item = this.quantified();
      reqs = mergeReqs(reqs, item.reqs);
      if (exact && item.exact && exact.size * item.exact.size <= MAX_EXACT) {
        const product = new Set<string>();
        for (const a of exact) for (const b of item.exact) product.add(a + b);
        if (product.size <= MAX_EXACT && [...product].every((x) => x.length <= MAX_LEN)) {
          exact = product;
          continue;
        }
      }
      // The run of exact strings ends here: keep it as a requirement, start a new run.
      complete = false;
      if (exact && !exact.has('')) reqs = mergeReqs(reqs, [exact]);
      exact = item.exact && item.exact.size <= MAX_EXACT_ITEM ? new Set(item.exact) : null;
      if (!exact) exact = new Set(['']);
    }
    if (exact && !exact.has('')) reqs = mergeReqs(reqs, [exact]);
    return { exact: complete && !(isEmptyOnly(exact) && reqs.length > 0) ? exact : null, reqs };
  }

  quantified(): Info {
    const atom = this.atom();
    const c = this.s[this.pos];
    let min = 1;
    let max = 1;
    if (c === '*' || c === '+' || c === '?') {
      this.pos++;
      min = c === '+' ? 1 : 0;
      max = c === '?' ? 1 : Infinity;
    } else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.s.slice(this.pos));
      if (m) {
        this.pos += m[0].length;
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      }
    }
    if (this.s[this.pos] === '?') this.pos++;
    if (min === 1 && max === 1) return atom;
    if (min === 0) return { exact: max === 1 && atom.exact && atom.exact.size < MAX_EXACT ? new Set([...atom.exact, '']) : null, reqs: [] };
    if (min === max && atom.exact && !atom.exact.has('')) {
      // x{n}: the n-fold concatenations, when few (e.g. the `(?:\.|%2e|…){2}` of path traversal).
      let product = new Set(['']);
      let k = 0;
      for (; k < min && product.size * atom.exact.size <= MAX_EXACT_ITEM; k++) {
        const next = new Set<string>();
        for (const a of product) for (const b of atom.exact) next.add(a + b);
        product = next;
      }
      if (k === min && [...product].every((x) => x.length <= MAX_LEN)) return { exact: product, reqs: atom.reqs };
    }
    return { exact: null, reqs: asReqs(atom) };
  }

  atom(): Info {
    const c = this.s[this.pos] as string;
    if (c === '(') return this.group();
    if (c === '[') return this.charClass();
    if (c === '\\') return this.escape();
    this.pos++;
    if (c === '.') return UNKNOWN;
    if (c === '^' || c === '$') return EMPTY;
    return this.literalInfo(c);
  }

  group(): Info {
    this.pos++;
    let look = false;
    if (this.s[this.pos] === '?') {
      const rest = this.s.slice(this.pos, this.pos + 3);
      if (rest.startsWith('?:')) this.pos += 2;
      else if (rest.startsWith('?=') || rest.startsWith('?!')) {
        this.pos += 2;
        look = true;
      } else if (rest.startsWith('?<=') || rest.startsWith('?<!')) {
        this.pos += 3;
        look = true;
      } else if (rest.startsWith('?<')) {
        const close = this.s.indexOf('>', this.pos);
        this.pos = close + 1;
      } else throw new Error('group');
    }
    const inner = this.alternation();
    if (this.s[this.pos] !== ')') throw new Error('paren');
    this.pos++;
    return look ? EMPTY : inner;
  }

  charClass(): Info {
    const start = this.pos;
    this.pos++;
    const negated = this.s[this.pos] === '^';
    if (negated) this.pos++;
    const chars = new Set<string>();
    let simple = !negated;
    let first = true;
    while (this.pos < this.s.length && (this.s[this.pos] !== ']' || first)) {
      first = false;
      let ch = this.s[this.pos] as string;
      if (ch === '\\') {
        const e = this.s[this.pos + 1] as string;
        const lit = escapeChar(this.s, this.pos);
        if (lit === undefined) {
          simple = false;
          this.pos += 2;
          if (e === 'x') this.pos += 2;
          continue;
        }
        ch = lit.ch;
        this.pos = lit.end;
      } else this.pos++;
      if (this.s[this.pos] === '-' && this.s[this.pos + 1] !== ']') {
        simple = false; // ranges: not tracked
        this.pos++;
        if (this.s[this.pos] === '\\') this.pos += this.s[this.pos + 1] === 'x' ? 4 : 2;
        else this.pos++;
        continue;
      }
      if (ch.charCodeAt(0) > 0x7f && !this.highBytes) simple = false;
      chars.add(fold(ch));
    }
    if (this.s[this.pos] !== ']') throw new Error('class ' + start);
    this.pos++;
    if (!simple || chars.size === 0 || chars.size > MAX_CLASS) return UNKNOWN;
    return { exact: chars, reqs: [] };
  }

  escape(): Info {
    const e = this.s[this.pos + 1] as string;
    if ('bB'.includes(e)) {
      this.pos += 2;
      return EMPTY;
    }
    if (e === 'k') {
      this.pos = this.s.indexOf('>', this.pos) + 1;
      return UNKNOWN;
    }
    if (/[1-9]/.test(e)) {
      this.pos += 2;
      while (/\d/.test(this.s[this.pos] ?? '')) this.pos++;
      return UNKNOWN;
    }
    const lit = escapeChar(this.s, this.pos);
    if (lit === undefined) {
      this.pos += 2;
      return UNKNOWN;
    }
    this.pos = lit.end;
    return this.literalInfo(lit.ch);
  }
}

function isEmptyOnly(s: Set<string> | null): boolean {
  return s !== null && s.size === 1 && s.has('');
}

/** A literal escape (`\n`, `\x41`, `\.`); undefined for class escapes like `\d`. */
function escapeChar(s: string, pos: number): { ch: string; end: number } | undefined {
  const e = s[pos + 1];
  if (e === undefined) return undefined;
  if (e === 'x') return { ch: String.fromCharCode(parseInt(s.slice(pos + 2, pos + 4), 16)), end: pos + 4 };
  if (e === 'u') return undefined;
  const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', f: '\f', v: '\v', '0': '\0' };
  if (simple[e] !== undefined) return { ch: simple[e] as string, end: pos + 2 };
  if (/[dDwWsSbBcpP]/.test(e)) return undefined;
  return { ch: e, end: pos + 2 };
}
