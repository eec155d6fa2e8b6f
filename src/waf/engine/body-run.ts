/** Feeds the request body to the selected body processor and stores what it yields. */
import { parseJsonBody } from '../body/json.js';
import { parseMultipart } from '../body/multipart.js';
import { parseUrlEncoded } from '../body/urlencoded.js';
import { parseXml } from '../body/xml.js';
import type { TxData } from './data.js';

/** Body processing options in force for this transaction. */
export interface BodyOptions {
  processor: string;
  forceBodyVariable: boolean;
  argumentSeparator: string;
  noFilesLimit: number;
  contentType: string;
}

/** Processes `body` into `d` (ARGS_POST, FILES, XML, REQUEST_BODY, REQBODY_ERROR…). */
export function processRequestBody(body: string, d: TxData, o: BodyOptions): void {
  d.bodyLength = body.length;
  const setError = (msg: string): void => {
    d.reqbodyError = 1;
    d.reqbodyErrorMsg = msg;
  };
  // As in ModSecurity 2: REQUEST_BODY holds the raw body only for URLENCODED bodies or
  // when forced (the CRS forces it for bodies no processor handles). ModSecurity 3 always
  // fills it, which makes CRS rules fire on XML/JSON markup (its 944xxx regressions).
  if (o.processor === 'URLENCODED' || o.forceBodyVariable) d.body = body;
  if (o.processor !== 'MULTIPART' && body.length > o.noFilesLimit) {
    setError(`Request body no files data length is larger than the configured limit (${o.noFilesLimit}).`);
    return;
  }
  switch (o.processor) {
    case 'URLENCODED':
      d.argsPost = parseUrlEncoded(body, o.argumentSeparator);
      return;
    case 'JSON': {
      const r = parseJsonBody(body);
      d.argsPost = r.args;
      if (r.error) setError(r.error);
      return;
    }
    case 'XML': {
      const r = parseXml(body);
      if (typeof r === 'string') setError(r);
      else d.xml = r;
      return;
    }
    case 'MULTIPART': {
      const r = parseMultipart(body, o.contentType);
      d.argsPost = r.args;
      d.files = r.files;
      d.partHeaders = r.partHeaders;
      d.multipartFlags = r.flags;
      if (r.error) setError(r.error);
      const f = r.flags;
      d.multipartStrictError =
        d.reqbodyError ||
        f.MULTIPART_BOUNDARY_QUOTED ||
        f.MULTIPART_BOUNDARY_WHITESPACE ||
        f.MULTIPART_DATA_BEFORE ||
        f.MULTIPART_DATA_AFTER ||
        f.MULTIPART_HEADER_FOLDING ||
        f.MULTIPART_LF_LINE ||
        f.MULTIPART_MISSING_SEMICOLON ||
        f.MULTIPART_INVALID_QUOTING ||
        f.MULTIPART_INVALID_PART ||
        f.MULTIPART_INVALID_HEADER_FOLDING ||
        f.MULTIPART_FILE_LIMIT_EXCEEDED
          ? 1
          : 0;
      return;
    }
  }
}

/** The processor ModSecurity picks from the Content-Type when no ctl chose one. */
export function defaultProcessor(contentType: string): string {
  const ct = contentType.toLowerCase();
  if (ct.startsWith('application/x-www-form-urlencoded')) return 'URLENCODED';
  if (ct.startsWith('multipart/form-data')) return 'MULTIPART';
  return '';
}
