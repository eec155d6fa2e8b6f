/**
 * Literal prefilters for regexes. From a translated pattern we derive a set of
 * lower-cased literals such that any match must contain at least one of them. If a
 * value (lower-cased) contains none, the regex cannot match and is not run. Most CRS
 * regexes name keywords (`select`, `<script`, `/etc/`), so on clean traffic almost no
 * regex runs. The analysis is conservative: anything it does not understand yields
 * "no prefilter" (always run the regex).
 */

/** What a sub-pattern tells us: its exact strings (when few) and literals required in any match. */
interface Info {
  /** Every string the node can match, when that set is small; null otherwise. */
  exact: Set<string> | null;
  /** At least one of these occurs in every match; null when unknown. */
  req: Set<string> | null;
}

const MAX_EXACT = 64;
const MAX_LEN = 12;
const MAX_CLASS = 4;

const EMPTY: Info = { exact: new Set(['']), req: null };
const UNKNOWN: Info = { exact: null, req: null };

function fold(c: string): string {
  const code = c.charCodeAt(0);
  return code >= 0x41 && code <= 0x5a ? String.fromCharCode(code + 32) : c;
}

/** The literal set a match must contain one of, or undefined when no useful prefilter exists. */
export function requiredLiterals(source: string): string[] | undefined {
  const p = new Parser(source);
  let info: Info;
  try {
    info = p.alternation();
    if (p.pos < source.length) return undefined;
  } catch {
    return undefined;
  }
  const set = info.exact && ![...info.exact].includes('') ? info.exact : info.req;
  if (!set || set.size === 0 || [...set].some((s) => s === '')) return undefined;
  return [...set];
}

function bestReq(a: Set<string> | null, b: Set<string> | null): Set<string> | null {
  if (!a) return b;
  if (!b) return a;
  const score = (s: Set<string>): number => Math.min(...[...s].map((x) => x.length)) * 8 - Math.log2(s.size + 1);
  return score(b) > score(a) ? b : a;
}

function asReq(info: Info): Set<string> | null {
  if (info.exact && ![...info.exact].includes('')) return info.exact;
  return info.req;
}

class Parser {
  pos = 0;
  constructor(private readonly s: string) {}

  alternation(): Info {
    const branches: Info[] = [this.sequence()];
    while (this.s[this.pos] === '|') {
      this.pos++;
      branches.push(this.sequence());
    }
    if (branches.length === 1) return branches[0] as Info;
    let exact: Set<string> | null = new Set();
    let req: Set<string> | null = new Set();
    for (const b of branches) {
      if (exact && b.exact && exact.size + b.exact.size <= MAX_EXACT) for (const e of b.exact) exact.add(e);
      else exact = null;
      const r = asReq(b);
      if (req && r) for (const e of r) req.add(e);
      else req = null;
    }
    return { exact, req };
  }

  sequence(): Info {
    let exact: Set<string> | null = new Set(['']);
    let req: Set<string> | null = null;
    // `complete` stays true while `exact` still lists every string the whole sequence matches.
    let complete = true;
    while (this.pos < this.s.length && this.s[this.pos] !== '|' && this.s[this.pos] !== ')') {
      const item = this.quantified();
      req = bestReq(req, item.req);
      if (exact && item.exact) {
        const product = new Set<string>();
        for (const a of exact) for (const b of item.exact) product.add(a + b);
        if (product.size <= MAX_EXACT && [...product].every((x) => x.length <= MAX_LEN)) {
          exact = product;
          continue;
        }
      }
      // The run of exact strings ends here: keep it as a requirement, start a new run.
      complete = false;
      if (exact && ![...exact].includes('')) req = bestReq(req, exact);
      exact = item.exact && item.exact.size <= MAX_EXACT ? new Set(item.exact) : null;
      if (!exact) exact = new Set(['']);
    }
    const finalReq = exact && ![...exact].includes('') ? bestReq(req, exact) : req;
    return { exact: complete && !(isEmptyOnly(exact) && req) ? exact : null, req: finalReq };
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
    if (min === 0) return { exact: max === 1 && atom.exact && atom.exact.size < MAX_EXACT ? new Set([...atom.exact, '']) : null, req: null };
    return { exact: null, req: asReq(atom) };
  }

  atom(): Info {
    const c = this.s[this.pos] as string;
    if (c === '(') return this.group();
    if (c === '[') return this.charClass();
    if (c === '\\') return this.escape();
    this.pos++;
    if (c === '.') return UNKNOWN;
    if (c === '^' || c === '$') return EMPTY;
    return literalInfo(c);
  }

  group(): Info {
    this.pos++;
    let look = false;
    if (this.s[this.pos] === '?') {
      const rest = this.s.slice(this.pos, this.pos + 3);
      if (rest.startsWith('?:')) this.pos += 2;
      else if (rest.startsWith('?=') || rest.startsWith('?!')) { this.pos += 2; look = true; }
      else if (rest.startsWith('?<=') || rest.startsWith('?<!')) { this.pos += 3; look = true; }
      else if (rest.startsWith('?<')) {
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
      if (ch.charCodeAt(0) > 0x7f) simple = false;
      chars.add(fold(ch));
    }
    if (this.s[this.pos] !== ']') throw new Error('class ' + start);
    this.pos++;
    if (!simple || chars.size === 0 || chars.size > MAX_CLASS) return UNKNOWN;
    return { exact: chars, req: null };
  }

  escape(): Info {
    const e = this.s[this.pos + 1] as string;
    if ('bB'.includes(e)) { this.pos += 2; return EMPTY; }
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
    return literalInfo(lit.ch);
  }
}

/** Bytes above 0x7F are left out: a caseless JavaScript regex folds some of them (é/É). */
function literalInfo(c: string): Info {
  return c.charCodeAt(0) > 0x7f ? UNKNOWN : { exact: new Set([fold(c)]), req: null };
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
