/** Group openings, inline flags and back-references of PCRE patterns (see translate.ts). */

/** PCRE option state while walking a pattern. */
export interface Flags {
  i: boolean;
  s: boolean;
  m: boolean;
  x: boolean;
}

/** Back-references are emitted as placeholders and renumbered once groups are known. */
export function readBackref(p: string, pos: number): { text: string; end: number } | undefined {
  const rest = p.slice(pos);
  let m = /^\\([1-9]\d?)/.exec(rest);
  if (m) {
    const n = Number(m[1]);
    if (n < 10 || n <= countGroups(p)) return { text: `\u0001${n}\u0001`, end: pos + m[0].length };
    return undefined;
  }
  m = /^\\g\{?(\d+)\}?/.exec(rest);
  if (m) return { text: `\u0001${m[1]}\u0001`, end: pos + m[0].length };
  m = /^\\k(?:<(\w+)>|'(\w+)'|\{(\w+)\})/.exec(rest) ?? /^\\g\{([A-Za-z_]\w*)\}/.exec(rest);
  if (m) return { text: `\\k<${m[1] ?? m[2] ?? m[3]}>`, end: pos + m[0].length };
  return undefined;
}

function countGroups(p: string): number {
  return (p.match(/\((?!\?)|\(\?<\w|\(\?P<|\(\?'/g) ?? []).length;
}

/** What a `(` starts. */
export interface GroupOpen {
  kind: 'capture' | 'group' | 'atomic' | 'flags' | 'comment';
  open: string;
  flags: Flags;
  end: number;
  translated: boolean;
}

export function readGroupOpen(p: string, pos: number, flags: Flags): GroupOpen | string {
  const rest = p.slice(pos);
  if (!rest.startsWith('(?')) {
    if (rest.startsWith('(*')) return 'PCRE verbs (*…) are not supported';
    return { kind: 'capture', open: '(', flags, end: pos + 1, translated: false };
  }
  let m: RegExpExecArray | null;
  if ((m = /^\(\?(?:P?<(\w+)>|'(\w+)')/.exec(rest))) {
    return { kind: 'capture', open: `(?<${m[1] ?? m[2]}>`, flags, end: pos + m[0].length, translated: !rest.startsWith('(?<') };
  }
  for (const look of ['(?:', '(?=', '(?!', '(?<=', '(?<!']) {
    if (rest.startsWith(look)) return { kind: 'group', open: look, flags, end: pos + look.length, translated: false };
  }
  if (rest.startsWith('(?>')) return { kind: 'atomic', open: '', flags, end: pos + 3, translated: true };
  if (rest.startsWith('(?#')) {
    const close = p.indexOf(')', pos);
    if (close < 0) return 'unterminated (?# comment';
    return { kind: 'comment', open: '', flags, end: close + 1, translated: true };
  }
  if ((m = /^\(\?([imsxJU]*)(?:-([imsxJU]*))?([:)])/.exec(rest))) {
    const next: Flags = { ...flags };
    for (const f of m[1] ?? '') if (!applyFlag(next, f, true)) return `unsupported inline flag '${f}'`;
    for (const f of m[2] ?? '') if (!applyFlag(next, f, false)) return `unsupported inline flag '${f}'`;
    const end = pos + m[0].length;
    if (m[3] === ')') return { kind: 'flags', open: '', flags: next, end, translated: true };
    return { kind: 'group', open: '(?:', flags: next, end, translated: true };
  }
  return `unsupported group syntax '${rest.slice(0, 4)}'`;
}

function applyFlag(f: Flags, letter: string, on: boolean): boolean {
  if (letter === 'i' || letter === 's' || letter === 'm' || letter === 'x') {
    f[letter] = on;
    return true;
  }
  return letter === 'J';
}

/** Replaces back-reference placeholders with JavaScript group numbers. */
export function resolveBackrefs(out: string): string {
  const map = buildCaptureMap(out);
  return out.replace(/\u0001(\d+)\u0001/g, (_, n: string) => {
    const js = map[Number(n)];
    return js === undefined ? `\\${n}` : `\\${js}`;
  });
}

/**
 * Scans a JavaScript pattern for capturing groups; synthetic `__atomN` groups are
 * skipped so PCRE group numbers map onto the real ones.
 */
export function buildCaptureMap(source: string): number[] {
  const map = [0];
  let js = 0;
  let inClass = false;
  for (let k = 0; k < source.length; k++) {
    const c = source[k];
    if (c === '\\') {
      k++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      continue;
    }
    if (c !== '(') continue;
    if (source[k + 1] !== '?') {
      js++;
      map.push(js);
      continue;
    }
    if (source[k + 2] === '<' && source[k + 3] !== '=' && source[k + 3] !== '!') {
      js++;
      if (!source.startsWith('__atom', k + 3)) map.push(js);
    }
  }
  return map;
}
