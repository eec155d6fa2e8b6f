/**
 * Turns configuration text into directives: comments dropped, `\`-continued lines
 * joined, arguments split the way Apache's `ap_getword_conf` splits them (ModSecurity 2,
 * the engine the CRS is tested on, inherits that): whitespace separates, a double- or
 * single-quoted argument runs to its closing quote, and a backslash before a backslash
 * or before the quote character is removed (`\\` → `\`, `\"` → `"`); every other
 * backslash is kept for the operator or action parser. (ModSecurity 3 keeps `\\`, which
 * is why it misses e.g. CRS rule 920460.)
 */

/** One directive as written, with where it starts. */
export interface RawDirective {
  name: string;
  args: string[];
  file: string;
  line: number;
}

/** A syntax problem found by the lexer. */
export interface LexError {
  file: string;
  line: number;
  message: string;
}

/** Splits `text` into directives; never throws, problems are returned in `errors`. */
export function lexConfig(text: string, file: string): { directives: RawDirective[]; errors: LexError[] } {
  const directives: RawDirective[] = [];
  const errors: LexError[] = [];
  const lines = text.split(/\r?\n/);
  let i = 0;
  while (i < lines.length) {
    const startLine = i + 1;
    let logical = lines[i] ?? '';
    i++;
    // A trailing backslash joins the next physical line (the backslash and newline go).
    while (/\\$/.test(logical) && i < lines.length) {
      logical = logical.slice(0, -1) + (lines[i] ?? '');
      i++;
    }
    if (logical.endsWith('\\')) logical = logical.slice(0, -1);
    const trimmed = logical.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const split = splitArguments(trimmed);
    if (typeof split === 'string') {
      errors.push({ file, line: startLine, message: split });
      continue;
    }
    const [name, ...args] = split;
    if (name === undefined) continue;
    directives.push({ name, args, file, line: startLine });
  }
  return { directives, errors };
}

/** Splits one logical line into words; returns an error message for an unclosed quote. */
export function splitArguments(line: string): string[] | string {
  const words: string[] = [];
  let pos = 0;
  const n = line.length;
  while (pos < n) {
    while (pos < n && isSpace(line.charCodeAt(pos))) pos++;
    if (pos >= n) break;
    const quote = line[pos];
    if (quote === '"' || quote === "'") {
      pos++;
      let word = '';
      let closed = false;
      while (pos < n) {
        const c = line[pos];
        if (c === '\\' && (line[pos + 1] === quote || line[pos + 1] === '\\')) {
          word += line[pos + 1];
          pos += 2;
          continue;
        }
        if (c === quote) {
          closed = true;
          pos++;
          break;
        }
        word += c;
        pos++;
      }
      if (!closed) return `unterminated ${quote === '"' ? 'double' : 'single'}-quoted argument`;
      words.push(word);
      continue;
    }
    let word = '';
    while (pos < n && !isSpace(line.charCodeAt(pos))) {
      if (line[pos] === '\\' && line[pos + 1] === '\\') pos++;
      word += line[pos];
      pos++;
    }
    words.push(word);
  }
  return words;
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a || code === 0x0b || code === 0x0c;
}
