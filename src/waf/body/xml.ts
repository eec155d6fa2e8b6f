/**
 * A small, non-validating XML parser for `XML:/*` and `XML://@*`. It never resolves
 * external entities (or any DTD-declared entity): a DOCTYPE is skipped, only the five
 * predefined entities and character references are decoded. Malformed documents are
 * reported as an error (REQBODY_ERROR).
 */

/** What the rules can see of a document. */
export interface XmlDocument {
  /** All text content in document order, concatenated (the string value of `/*`). */
  text: string;
  /** Every attribute value in document order. */
  attributes: string[];
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string): string | undefined {
  if (!s.includes('&')) return s;
  let bad = false;
  const out = s.replace(/&(#x[0-9a-fA-F]+|#\d+|[A-Za-z_][\w.-]*);?/g, (m, body: string) => {
    if (!m.endsWith(';')) {
      bad = true;
      return m;
    }
    if (body.startsWith('#')) {
      const cp = body[1] === 'x' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      if (!(cp > 0 && cp <= 0x10ffff)) {
        bad = true;
        return m;
      }
      return Buffer.from(String.fromCodePoint(cp), 'utf8').toString('latin1');
    }
    const v = PREDEFINED[body];
    if (v === undefined) bad = true;
    return v ?? '';
  });
  return bad ? undefined : out;
}

/** Parses `body` (latin1 bytes). Returns the document or an error message. */
export function parseXml(body: string): XmlDocument | string {
  let pos = 0;
  const n = body.length;
  const stack: string[] = [];
  let text = '';
  const attributes: string[] = [];
  let sawRoot = false;
  if (body.charCodeAt(0) === 0xef && body.startsWith('\xef\xbb\xbf')) pos = 3;
  while (pos < n) {
    const lt = body.indexOf('<', pos);
    const chunk = body.slice(pos, lt < 0 ? n : lt);
    if (chunk !== '') {
      if (stack.length === 0) {
        if (chunk.trim() !== '') return 'XML: content outside the root element';
      } else {
        const decoded = decodeEntities(chunk);
        if (decoded === undefined) return 'XML: undefined or malformed entity reference';
        text += decoded;
      }
    }
    if (lt < 0) break;
    pos = lt;
    if (body.startsWith('<!--', pos)) {
      const end = body.indexOf('-->', pos + 4);
      if (end < 0) return 'XML: unterminated comment';
      pos = end + 3;
    } else if (body.startsWith('<![CDATA[', pos)) {
      const end = body.indexOf(']]>', pos + 9);
      if (end < 0 || stack.length === 0) return 'XML: bad CDATA section';
      text += body.slice(pos + 9, end);
      pos = end + 3;
    } else if (body.startsWith('<?', pos)) {
      const end = body.indexOf('?>', pos + 2);
      if (end < 0) return 'XML: unterminated processing instruction';
      pos = end + 2;
    } else if (body.startsWith('<!DOCTYPE', pos)) {
      if (sawRoot) return 'XML: DOCTYPE after the root element';
      const end = skipDoctype(body, pos);
      if (end < 0) return 'XML: unterminated DOCTYPE';
      pos = end;
    } else if (body[pos + 1] === '/') {
      const m = /^<\/([^\s>]+)\s*>/.exec(body.slice(pos, pos + 1024));
      if (!m || stack.pop() !== m[1]) return 'XML: mismatched end tag';
      pos += m[0].length;
    } else {
      const tag = readStartTag(body, pos);
      if (typeof tag === 'string') return tag;
      if (stack.length === 0 && sawRoot) return 'XML: more than one root element';
      sawRoot = true;
      attributes.push(...tag.attributes);
      if (!tag.selfClosing) stack.push(tag.name);
      pos = tag.end;
    }
  }
  if (!sawRoot) return 'XML: no root element';
  if (stack.length > 0) return 'XML: premature end of document';
  return { text, attributes };
}

function skipDoctype(body: string, pos: number): number {
  let depth = 0;
  for (let i = pos + 9; i < body.length; i++) {
    const c = body[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === '>' && depth <= 0) return i + 1;
  }
  return -1;
}

function readStartTag(body: string, pos: number): { name: string; attributes: string[]; selfClosing: boolean; end: number } | string {
  const nameMatch = /^<([A-Za-z_:\x80-\xff][\w.:\-\x80-\xff]*)/.exec(body.slice(pos, pos + 1024));
  if (!nameMatch) return 'XML: invalid tag';
  const name = nameMatch[1] as string;
  let i = pos + nameMatch[0].length;
  const attributes: string[] = [];
  const re = /\s*(?:([A-Za-z_:\x80-\xff][\w.:\-\x80-\xff]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')|(\/?>))/y;
  for (;;) {
    re.lastIndex = i;
    const m = re.exec(body);
    if (!m) return 'XML: malformed start tag';
    i = re.lastIndex;
    if (m[4] !== undefined) return { name, attributes, selfClosing: m[4] === '/>', end: i };
    const value = decodeEntities(m[2] ?? m[3] ?? '');
    if (value === undefined) return 'XML: undefined or malformed entity reference';
    attributes.push(value);
  }
}
