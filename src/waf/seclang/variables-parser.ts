/**
 * Parses the target list of a SecRule: `ARGS|!ARGS:foo|&TX:bar|REQUEST_HEADERS:/^x-/|XML:/*`.
 * A selector is a plain key, a `/regex/` (case-insensitive, as ModSecurity compiles
 * them), or for XML an XPath expression taken verbatim.
 */

/** How one target picks values from its collection. */
export type Selector = { kind: 'all' } | { kind: 'key'; key: string } | { kind: 'regex'; source: string } | { kind: 'xpath'; path: string };

/** One parsed target as written in a rule. */
export interface VariableSpec {
  /** Upper-cased collection or variable name, e.g. "ARGS", "REQUEST_URI". */
  collection: string;
  selector: Selector;
  /** `&VAR`: the rule sees the number of values instead of the values. */
  count: boolean;
  /** `!VAR:key`: removes matching values from the same collection in this rule. */
  exclude: boolean;
}

/** Parses a `|`-separated target list; returns an error message when malformed. */
export function parseVariables(text: string): VariableSpec[] | string {
  const specs: VariableSpec[] = [];
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    while (pos < n && (text[pos] === ' ' || text[pos] === '|')) pos++;
    if (pos >= n) break;
    let exclude = false;
    let count = false;
    if (text[pos] === '!') {
      exclude = true;
      pos++;
    }
    if (text[pos] === '&') {
      count = true;
      pos++;
    }
    const nameStart = pos;
    while (pos < n && text[pos] !== ':' && text[pos] !== '|') pos++;
    const collection = text.slice(nameStart, pos).trim().toUpperCase();
    if (!/^[A-Z_][A-Z0-9_]*$/.test(collection)) return `invalid variable name '${text.slice(nameStart, pos)}'`;
    let selector: Selector = { kind: 'all' };
    if (text[pos] === ':') {
      pos++;
      const parsed = readSelector(text, pos, collection === 'XML');
      if (typeof parsed === 'string') return parsed;
      selector = parsed.selector;
      pos = parsed.end;
    }
    specs.push({ collection, selector, count, exclude });
  }
  if (specs.length === 0) return 'empty variable list';
  return specs;
}

function readSelector(text: string, start: number, xml: boolean): { selector: Selector; end: number } | string {
  const n = text.length;
  let pos = start;
  if (xml) {
    while (pos < n && text[pos] !== '|') pos++;
    return { selector: { kind: 'xpath', path: text.slice(start, pos) }, end: pos };
  }
  if (text[pos] === "'") {
    // Quoted selector: everything up to the closing quote; '/…/' inside is a regex.
    const close = text.indexOf("'", pos + 1);
    if (close < 0) return `unterminated quoted selector in '${text.slice(start)}'`;
    const inner = text.slice(pos + 1, close);
    if (inner.length >= 2 && inner.startsWith('/') && inner.endsWith('/')) {
      return { selector: { kind: 'regex', source: inner.slice(1, -1) }, end: close + 1 };
    }
    return { selector: { kind: 'key', key: inner }, end: close + 1 };
  }
  if (text[pos] === '/') {
    // Regex selector: runs to the next unescaped '/'.
    pos++;
    let source = '';
    let closed = false;
    while (pos < n) {
      const c = text[pos];
      if (c === '\\' && pos + 1 < n) {
        source += c + text[pos + 1];
        pos += 2;
        continue;
      }
      if (c === '/') {
        closed = true;
        pos++;
        break;
      }
      source += c;
      pos++;
    }
    if (!closed) return `unterminated regex selector in '${text.slice(start)}'`;
    return { selector: { kind: 'regex', source }, end: pos };
  }
  const keyStart = pos;
  while (pos < n && text[pos] !== '|') pos++;
  const key = text.slice(keyStart, pos).trim();
  if (key === '') return { selector: { kind: 'all' }, end: pos };
  return { selector: { kind: 'key', key }, end: pos };
}
