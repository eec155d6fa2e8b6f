/** Content-Type boundary and Content-Disposition parsing for multipart bodies. */

/** The MULTIPART_* flags a body can raise (1 = set). */
export interface MultipartFlags {
  MULTIPART_BOUNDARY_QUOTED: number;
  MULTIPART_BOUNDARY_WHITESPACE: number;
  MULTIPART_DATA_BEFORE: number;
  MULTIPART_DATA_AFTER: number;
  MULTIPART_HEADER_FOLDING: number;
  MULTIPART_LF_LINE: number;
  MULTIPART_CRLF_LF_LINES: number;
  MULTIPART_MISSING_SEMICOLON: number;
  MULTIPART_INVALID_QUOTING: number;
  MULTIPART_INVALID_PART: number;
  MULTIPART_INVALID_HEADER_FOLDING: number;
  MULTIPART_FILE_LIMIT_EXCEEDED: number;
  MULTIPART_UNMATCHED_BOUNDARY: number;
}

/** All flags cleared. */
export function noFlags(): MultipartFlags {
  return {
    MULTIPART_BOUNDARY_QUOTED: 0,
    MULTIPART_BOUNDARY_WHITESPACE: 0,
    MULTIPART_DATA_BEFORE: 0,
    MULTIPART_DATA_AFTER: 0,
    MULTIPART_HEADER_FOLDING: 0,
    MULTIPART_LF_LINE: 0,
    MULTIPART_CRLF_LF_LINES: 0,
    MULTIPART_MISSING_SEMICOLON: 0,
    MULTIPART_INVALID_QUOTING: 0,
    MULTIPART_INVALID_PART: 0,
    MULTIPART_INVALID_HEADER_FOLDING: 0,
    MULTIPART_FILE_LIMIT_EXCEEDED: 0,
    MULTIPART_UNMATCHED_BOUNDARY: 0,
  };
}

/** Extracts the boundary from a multipart Content-Type, raising the boundary flags. */
export function boundaryOf(contentType: string, flags: MultipartFlags): string | { error: string } {
  const at = contentType.toLowerCase().indexOf('boundary');
  if (at < 0) return { error: 'Multipart: boundary not found in C-T' };
  if ((contentType.match(/boundary\s*=/gi) ?? []).length > 1) return { error: 'Multipart: multiple boundary parameters in C-T' };
  let rest = contentType.slice(at + 8);
  const eq = rest.indexOf('=');
  if (eq < 0) return { error: 'Multipart: boundary not found in C-T' };
  if (rest.slice(0, eq).trim() !== '') return { error: 'Multipart: invalid boundary in C-T' };
  if (eq > 0 || /^\s/.test(rest.slice(eq + 1))) flags.MULTIPART_BOUNDARY_WHITESPACE = 1;
  rest = rest.slice(eq + 1).trim();
  let boundary = rest;
  if (rest.startsWith('"')) {
    const close = rest.indexOf('"', 1);
    if (close < 0) return { error: 'Multipart: invalid boundary in C-T (quote)' };
    boundary = rest.slice(1, close);
    flags.MULTIPART_BOUNDARY_QUOTED = 1;
  } else {
    boundary = rest.split(/[;,\s]/)[0] ?? '';
  }
  if (boundary === '' || boundary.length > 70 || /[^0-9A-Za-z'()+_,\-./:=? ]/.test(boundary)) {
    return { error: 'Multipart: invalid boundary in C-T (characters)' };
  }
  return boundary;
}

/** The name and filename of a part, from its Content-Disposition value. */
export function parseDisposition(value: string, flags: MultipartFlags): { name: string; filename: string | undefined } | { error: string } {
  const m = /^\s*form-data\b/i.exec(value);
  if (!m) return { error: 'Multipart: Content-Disposition is not form-data' };
  let p = m[0].length;
  let name: string | undefined;
  let filename: string | undefined;
  const s = value;
  while (p < s.length) {
    while (s[p] === ' ' || s[p] === '\t') p++;
    if (p >= s.length) break;
    if (s[p] === ';') p++;
    else flags.MULTIPART_MISSING_SEMICOLON = 1;
    while (s[p] === ' ' || s[p] === '\t') p++;
    if (p >= s.length) break;
    const eq = s.indexOf('=', p);
    if (eq < 0) return { error: 'Multipart: invalid Content-Disposition parameter' };
    const param = s.slice(p, eq).trim().toLowerCase();
    p = eq + 1;
    while (s[p] === ' ' || s[p] === '\t') p++;
    let v = '';
    if (s[p] === '"') {
      p++;
      let closed = false;
      while (p < s.length) {
        const c = s[p] as string;
        if (c === '\\' && (s[p + 1] === '"' || s[p + 1] === '\\')) {
          v += s[p + 1];
          p += 2;
          continue;
        }
        if (c === '"') {
          closed = true;
          p++;
          break;
        }
        v += c;
        p++;
      }
      if (!closed) return { error: 'Multipart: invalid quoting in Content-Disposition' };
      if (v.includes("'")) flags.MULTIPART_INVALID_QUOTING = 1;
    } else {
      const start = p;
      while (p < s.length && s[p] !== ';' && s[p] !== ' ' && s[p] !== '\t') p++;
      v = s.slice(start, p);
      if (/["'\\]/.test(v)) flags.MULTIPART_INVALID_QUOTING = 1;
    }
    if (param === 'name') {
      if (name !== undefined) return { error: 'Multipart: duplicate Content-Disposition name' };
      name = v;
    } else if (param === 'filename' || param === 'filename*') {
      if (filename !== undefined) return { error: 'Multipart: duplicate Content-Disposition filename' };
      filename = param === 'filename*' ? v.replace(/^[^']*'[^']*'/, '') : v;
    } else {
      return { error: `Multipart: invalid Content-Disposition parameter '${param}'` };
    }
  }
  if (name === undefined) return { error: 'Multipart: Content-Disposition has no name' };
  return { name, filename };
}
