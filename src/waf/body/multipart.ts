/**
 * `multipart/form-data` bodies, with ModSecurity's strictness flags. Parts with a
 * filename are files (FILES, FILES_NAMES, FILES_SIZES); the others are arguments.
 * Every part header line is kept for MULTIPART_PART_HEADERS.
 */
import { boundaryOf, noFlags, parseDisposition, type MultipartFlags } from './multipart-headers.js';
import type { BodyResult, Pair } from './types.js';

export type { MultipartFlags } from './multipart-headers.js';

/** A file part. */
export interface FilePart {
  name: string;
  filename: string;
  size: number;
}

/** What a multipart body yields. */
export interface MultipartResult extends BodyResult {
  files: FilePart[];
  partHeaders: Pair[];
  flags: MultipartFlags;
}

interface Line {
  text: string;
  /** 'crlf', 'lf' or 'none' (last line without terminator). */
  end: 'crlf' | 'lf' | 'none';
}

function splitLines(body: string): Line[] {
  const lines: Line[] = [];
  let pos = 0;
  while (pos < body.length) {
    const nl = body.indexOf('\n', pos);
    if (nl < 0) {
      lines.push({ text: body.slice(pos), end: 'none' });
      break;
    }
    const crlf = nl > pos && body[nl - 1] === '\r';
    lines.push({ text: body.slice(pos, crlf ? nl - 1 : nl), end: crlf ? 'crlf' : 'lf' });
    pos = nl + 1;
  }
  return lines;
}

/** Parses a multipart body given the request's Content-Type. */
export function parseMultipart(body: string, contentType: string, maxFiles = 100): MultipartResult {
  const flags = noFlags();
  const result: MultipartResult = { args: [], files: [], partHeaders: [], flags, error: undefined };
  const boundary = boundaryOf(contentType, flags);
  if (typeof boundary !== 'string') return { ...result, error: boundary.error };
  const delimiter = '--' + boundary;
  const lines = splitLines(body);
  let i = 0;
  let sawCrlf = false;
  let sawLf = false;
  const noteEnd = (l: Line): void => {
    if (l.end === 'crlf') sawCrlf = true;
    else if (l.end === 'lf') sawLf = true;
  };
  const isDelimiter = (t: string): 'part' | 'final' | undefined => {
    if (!t.startsWith(delimiter)) return undefined;
    const rest = t.slice(delimiter.length);
    if (/^[ \t]*$/.test(rest)) return 'part';
    if (/^--[ \t]*$/.test(rest)) return 'final';
    return undefined;
  };
  // Preamble.
  while (i < lines.length && isDelimiter((lines[i] as Line).text) === undefined) {
    if ((lines[i] as Line).text !== '' || i > 0) flags.MULTIPART_DATA_BEFORE = 1;
    i++;
  }
  if (i >= lines.length) return { ...result, error: 'Multipart: no boundary found in the body' };
  let final = false;
  while (i < lines.length && !final) {
    noteEnd(lines[i] as Line);
    i++; // the delimiter line
    // Part headers.
    const headers: Array<[string, string]> = [];
    let headersDone = false;
    while (i < lines.length) {
      const l = lines[i] as Line;
      noteEnd(l);
      i++;
      if (l.text === '') {
        headersDone = true;
        break;
      }
      if (/^[ \t]/.test(l.text)) {
        flags.MULTIPART_HEADER_FOLDING = 1;
        const last = headers[headers.length - 1];
        if (!last) {
          flags.MULTIPART_INVALID_HEADER_FOLDING = 1;
          return { ...result, error: 'Multipart: invalid header folding' };
        }
        last[1] += ' ' + l.text.trim();
        continue;
      }
      const colon = l.text.indexOf(':');
      if (colon <= 0) return { ...result, error: 'Multipart: invalid part header (colon missing)' };
      headers.push([l.text.slice(0, colon).trim(), l.text.slice(colon + 1).trim()]);
    }
    if (!headersDone) {
      flags.MULTIPART_INVALID_PART = 1;
      return { ...result, error: 'Multipart: final boundary missing' };
    }
    // Part data up to the next delimiter; the line break before it belongs to the delimiter.
    const data: string[] = [];
    let closed = false;
    while (i < lines.length) {
      const l = lines[i] as Line;
      const kind = isDelimiter(l.text);
      if (kind !== undefined) {
        closed = true;
        final = kind === 'final';
        break;
      }
      if (l.text.startsWith('--') && l.text.length > 2 && (l.text.startsWith(delimiter) || delimiter.startsWith(l.text.replace(/-+$/, '')))) {
        flags.MULTIPART_UNMATCHED_BOUNDARY = 1;
      }
      noteEnd(l);
      data.push(l.text + (l.end === 'crlf' ? '\r\n' : l.end === 'lf' ? '\n' : ''));
      i++;
    }
    let value = data.join('');
    value = value.endsWith('\r\n') ? value.slice(0, -2) : value.endsWith('\n') ? value.slice(0, -1) : value;
    const disposition = headers.find(([h]) => h.toLowerCase() === 'content-disposition');
    if (!disposition) return { ...result, error: 'Multipart: part is missing Content-Disposition header' };
    const parsed = parseDisposition(disposition[1], flags);
    if ('error' in parsed) return { ...result, error: parsed.error };
    for (const [h, v] of headers) result.partHeaders.push({ key: parsed.name, value: `${h}: ${v}` });
    if (parsed.filename !== undefined) {
      if (result.files.length >= maxFiles) flags.MULTIPART_FILE_LIMIT_EXCEEDED = 1;
      else result.files.push({ name: parsed.name, filename: parsed.filename, size: value.length });
    } else {
      result.args.push({ key: parsed.name, value });
    }
    if (!closed) return { ...result, error: 'Multipart: final boundary missing' };
  }
  if (!final) return { ...result, error: 'Multipart: final boundary missing' };
  i++;
  const epilogue = lines
    .slice(i)
    .map((l) => l.text)
    .join('');
  if (epilogue.trim() !== '') flags.MULTIPART_DATA_AFTER = 1;
  if (sawLf) flags.MULTIPART_LF_LINE = 1;
  if (sawLf && sawCrlf) flags.MULTIPART_CRLF_LF_LINES = 1;
  return result;
}
