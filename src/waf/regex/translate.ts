/**
 * PCRE → JavaScript regex translation, done once at load.
 *
 * Patterns are compiled the way ModSecurity 2 compiles `@rx` (PCRE_DOTALL |
 * PCRE_DOLLAR_ENDONLY): the JavaScript regex always gets the `s` flag and `$` keeps its
 * JavaScript meaning (end of input only). Regexes run without the `u` flag on latin1
 * byte strings so `\xNN` means a byte.
 *
 * Rewritten constructs: inline flags `(?i)`, `(?s)`, `(?m)`, `(?x)` at the start or in the
 * middle and scoped `(?i:…)` (case-insensitivity becomes the `i` flag when the whole
 * pattern is caseless, otherwise letters inside the scope are expanded to `[aA]`);
 * atomic groups `(?>…)` and possessive quantifiers (`*+ ++ ?+ {n,m}+`, emulated with a
 * lookahead and a named back-reference, which has the same matching semantics); `\A \Z
 * \z`; POSIX classes; `\h \v \R \N`; `\Q…\E`; `\x{..}`, `\o{..}`, octal; `\e \a \cX`;
 * `(?P<n>`, `(?'n'`, `(?#…)`; a leading `]` in a class. Constructs JavaScript cannot
 * express (`\G`, `\K`, recursion, conditionals, `\p{..}`, branch reset) are refused.
 */
import { HSPACE_CLASS_BODY, SPACE_CLASS_BODY, VSPACE_CLASS_BODY, literal, otherCase, readCharEscape, readClass } from './char-class.js';
import { buildCaptureMap, readBackref, readGroupOpen, resolveBackrefs, type Flags } from './groups.js';

export { buildCaptureMap } from './groups.js';

/** A translated pattern ready for `new RegExp(source, flags)`. */
export interface TranslatedRegex {
  source: string;
  flags: string;
  /** True when a PCRE-only construct had to be rewritten. */
  translated: boolean;
  /** `captureMap[n]` is the JavaScript group index of PCRE capture group n (0 → 0). */
  captureMap: number[];
}

interface Pass {
  out: string;
  translated: boolean;
  lettersCaseless: number;
  lettersCased: number;
}

/**
 * Translates a PCRE pattern; returns an error message when it cannot.
 *
 * By default case-insensitivity is always spelled out as `[aA]` classes and the `i`
 * flag is never used: V8's linear-time engine (the ReDoS fallback) refuses `i`, so a
 * caseless pattern compiled with `i` could never fall back. `useIgnoreCaseFlag` keeps
 * the `i` flag where the whole pattern is caseless (smaller source, no fallback).
 */
export function translatePcre(pattern: string, options: { caseless?: boolean; useIgnoreCaseFlag?: boolean } = {}): TranslatedRegex | { error: string } {
  const caseless = options.caseless === true;
  const probe = walk(pattern, caseless, 'probe');
  if (typeof probe === 'string') return { error: probe };
  let globalI: boolean;
  let final: Pass = probe;
  if (probe.lettersCaseless === 0) globalI = false;
  else if (probe.lettersCased === 0 && options.useIgnoreCaseFlag === true) globalI = true;
  else {
    const expanded = walk(pattern, caseless, 'expand');
    if (typeof expanded === 'string') return { error: expanded };
    final = expanded;
    globalI = false;
  }
  const source = resolveBackrefs(final.out);
  const captureMap = buildCaptureMap(source);
  const flags = 's' + (globalI ? 'i' : '');
  const translated = final.translated || (probe.lettersCaseless > 0 && !caseless);
  try {
    new RegExp(source, flags);
  } catch (e) {
    return { error: (e as Error).message };
  }
  return { source, flags, translated, captureMap };
}

type Mode = 'probe' | 'expand';

function walk(p: string, caseless: boolean, mode: Mode): Pass | string {
  const out: string[] = [];
  const stats: Pass = { out: '', translated: false, lettersCaseless: 0, lettersCased: 0 };
  let flags: Flags = { i: caseless, s: true, m: false, x: false };
  const stack: Array<{ saved: Flags; close: string; start: number }> = [];
  let atomStart = -1;
  let atomic = 0;
  const countLetters = (has: boolean): void => {
    if (!has) return;
    if (flags.i) stats.lettersCaseless++;
    else stats.lettersCased++;
  };
  const emitChar = (code: number): void => {
    atomStart = out.length;
    const other = otherCase(code);
    countLetters(other !== undefined);
    if (mode === 'expand' && flags.i && other !== undefined) out.push('[' + literal(code) + literal(other) + ']');
    else out.push(literal(code));
  };
  let pos = 0;
  while (pos < p.length) {
    const c = p[pos] as string;
    if (flags.x && /\s/.test(c)) {
      pos++;
      continue;
    }
    if (flags.x && c === '#') {
      while (pos < p.length && p[pos] !== '\n') pos++;
      continue;
    }
    if (c === '\\') {
      const e = p[pos + 1];
      if (e === undefined) return 'pattern ends with a backslash';
      if (e === 'Q') {
        const end = p.indexOf('\\E', pos + 2);
        const lit = end < 0 ? p.slice(pos + 2) : p.slice(pos + 2, end);
        for (let k = 0; k < lit.length; k++) emitChar(lit.charCodeAt(k));
        stats.translated = true;
        pos = end < 0 ? p.length : end + 2;
        continue;
      }
      if (e === 'E') {
        pos += 2;
        continue;
      }
      const special = escapeOutsideClass(e);
      if (special !== undefined) {
        if (special.startsWith('\u0000')) return special.slice(1);
        atomStart = out.length;
        out.push(special);
        if (!/^[dDwWbBsS]$/.test(e)) stats.translated = true;
        pos += 2;
        continue;
      }
      const br = readBackref(p, pos);
      if (br) {
        atomStart = out.length;
        out.push(br.text);
        countLetters(true);
        pos = br.end;
        continue;
      }
      const esc = readCharEscape(p, pos);
      if (typeof esc === 'string') return esc;
      stats.translated ||= esc.translated;
      emitChar(esc.code);
      pos = esc.end;
      continue;
    }
    if (c === '[') {
      const cls = readClass(p, pos, mode === 'expand' && flags.i);
      if (typeof cls === 'string') return cls;
      atomStart = out.length;
      out.push(cls.text);
      countLetters(cls.hasLetters);
      stats.translated ||= cls.translated;
      pos = cls.end;
      continue;
    }
    if (c === '(') {
      const g = readGroupOpen(p, pos, flags);
      if (typeof g === 'string') return g;
      stats.translated ||= g.translated;
      pos = g.end;
      if (g.kind === 'comment') continue;
      if (g.kind === 'flags') {
        flags = g.flags;
        continue;
      }
      const start = out.length;
      let open = g.open;
      let close = ')';
      if (g.kind === 'atomic') {
        const name = `__atom${atomic++}`;
        open = `(?=(?<${name}>`;
        close = `))\\k<${name}>`;
      }
      stack.push({ saved: flags, close, start });
      flags = g.flags;
      out.push(open);
      atomStart = -1;
      continue;
    }
    if (c === ')') {
      const g = stack.pop();
      if (!g) return 'unmatched closing parenthesis';
      out.push(g.close);
      flags = g.saved;
      atomStart = g.start;
      pos++;
      continue;
    }
    if (c === '*' || c === '+' || c === '?' || (c === '{' && /^\{\d+(,\d*)?\}/.test(p.slice(pos)))) {
      let q = c;
      if (c === '{') q = (/^\{\d+(,\d*)?\}/.exec(p.slice(pos)) as RegExpExecArray)[0];
      pos += q.length;
      if (atomStart < 0) return `quantifier '${q}' does not follow a repeatable item`;
      if (p[pos] === '+') {
        pos++;
        const name = `__atom${atomic++}`;
        const atom = out.splice(atomStart).join('');
        out.push(`(?=(?<${name}>${atom}${q}))\\k<${name}>`);
        stats.translated = true;
      } else {
        if (p[pos] === '?') {
          q += '?';
          pos++;
        }
        out.push(q);
      }
      atomStart = -1;
      continue;
    }
    if (c === '{') {
      emitChar(0x7b);
      pos++;
      continue;
    }
    if (c === '.') {
      atomStart = out.length;
      out.push(flags.s ? '.' : '[^\\n]');
      pos++;
      continue;
    }
    if (c === '^' || c === '$') {
      atomStart = -1;
      if (flags.m) {
        out.push(c === '^' ? '(?:^|(?<=\\n))' : '(?=\\n|$)');
        stats.translated = true;
      } else out.push(c);
      pos++;
      continue;
    }
    if (c === '|') {
      atomStart = -1;
      out.push('|');
      pos++;
      continue;
    }
    emitChar(p.charCodeAt(pos));
    pos++;
  }
  if (stack.length > 0) return 'missing closing parenthesis';
  stats.out = out.join('');
  return stats;
}

/** Escapes with a fixed JavaScript rewrite outside classes; '\0'-prefixed = error. */
function escapeOutsideClass(e: string): string | undefined {
  switch (e) {
    case 'd':
    case 'D':
    case 'w':
    case 'W':
    case 'b':
    case 'B':
      return '\\' + e;
    case 's':
      return `[${SPACE_CLASS_BODY}]`;
    case 'S':
      return `[^${SPACE_CLASS_BODY}]`;
    case 'h':
      return `[${HSPACE_CLASS_BODY}]`;
    case 'H':
      return `[^${HSPACE_CLASS_BODY}]`;
    case 'v':
      return `[${VSPACE_CLASS_BODY}]`;
    case 'V':
      return `[^${VSPACE_CLASS_BODY}]`;
    case 'R':
      return `(?:\\r\\n|[${VSPACE_CLASS_BODY}])`;
    case 'N':
      return '[^\\n]';
    case 'A':
      return '(?<![\\s\\S])';
    case 'z':
      return '(?![\\s\\S])';
    case 'Z':
      return '(?=\\n?(?![\\s\\S]))';
    case 'G':
    case 'K':
    case 'X':
    case 'C':
    case 'p':
    case 'P':
      return `\u0000unsupported escape \\${e}`;
  }
  return undefined;
}
