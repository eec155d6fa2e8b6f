/**
 * Macro text: `%{tx.anomaly_score}`, `%{MATCHED_VAR}`, `%{request_headers.host}`.
 * Parsed once at load; expanded per transaction through a resolver.
 */

/** A reference inside `%{…}`: collection upper-cased, key as written (or undefined) and lower-cased. */
export interface MacroRef {
  collection: string;
  key: string | undefined;
  lower: string | undefined;
}

/** Parsed macro text. `constant` is true when there is nothing to expand. */
export interface MacroText {
  readonly text: string;
  readonly parts: ReadonlyArray<string | MacroRef>;
  readonly constant: boolean;
}

/** Parses `%{…}` references out of `text`. Unclosed `%{` stays literal. */
export function parseMacro(text: string): MacroText {
  const parts: Array<string | MacroRef> = [];
  let pos = 0;
  let literal = '';
  while (pos < text.length) {
    const start = text.indexOf('%{', pos);
    if (start < 0) break;
    const end = text.indexOf('}', start + 2);
    if (end < 0) break;
    literal += text.slice(pos, start);
    const body = text.slice(start + 2, end);
    const dot = body.search(/[.:]/);
    const key = dot < 0 ? undefined : body.slice(dot + 1).trim();
    const ref: MacroRef = {
      collection: body
        .slice(0, dot < 0 ? body.length : dot)
        .trim()
        .toUpperCase(),
      key,
      lower: key?.toLowerCase(),
    };
    if (literal) parts.push(literal);
    literal = '';
    parts.push(ref);
    pos = end + 1;
  }
  literal += text.slice(pos);
  if (literal) parts.push(literal);
  return { text, parts, constant: parts.every((p) => typeof p === 'string') };
}

/** Resolves one reference to its (first) value; '' when unset. */
export type MacroResolver = (ref: MacroRef) => string;

/** Expands `macro` using `resolve`. */
export function expandMacro(macro: MacroText, resolve: MacroResolver): string {
  if (macro.constant) return macro.text;
  let out = '';
  for (const part of macro.parts) out += typeof part === 'string' ? part : resolve(part);
  return out;
}
