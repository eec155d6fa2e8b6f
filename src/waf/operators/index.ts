/**
 * The operator registry. Operators that need something a proxy cannot provide (DNS
 * block lists, GeoIP databases, file scanners, XML schemas) are refused at load with
 * a clear message, so the rule using them is reported instead of silently never
 * matching.
 */
import { ipMatch, ipMatchFromFile } from './ip-match.js';
import { detectSQLi, detectXSS } from './libinjection.js';
import { noMatch, unconditionalMatch, verifyCC } from './misc.js';
import { eq, ge, gt, le, lt } from './numeric.js';
import { pm, pmFromFile } from './pm.js';
import { rx } from './rx.js';
import { beginsWith, contains, containsWord, endsWith, streq, strmatch, within } from './strings.js';
import type { OperatorFactory } from './types.js';
import { validateByteRange, validateUrlEncoding, validateUtf8Encoding } from './validate.js';

export type { Operator, OperatorContext, OperatorFactory, OperatorRuntime, PrefilteredOperator } from './types.js';

const REGISTRY: Record<string, OperatorFactory> = {
  rx,
  pm,
  pmf: pmFromFile,
  pmfromfile: pmFromFile,
  detectsqli: detectSQLi,
  detectxss: detectXSS,
  validatebyterange: validateByteRange,
  validateurlencoding: validateUrlEncoding,
  validateutf8encoding: validateUtf8Encoding,
  eq,
  ge,
  gt,
  le,
  lt,
  streq,
  strmatch,
  within,
  beginswith: beginsWith,
  endswith: endsWith,
  contains,
  containsword: containsWord,
  ipmatch: ipMatch,
  ipmatchfromfile: ipMatchFromFile,
  ipmatchf: ipMatchFromFile,
  unconditionalmatch: unconditionalMatch,
  nomatch: noMatch,
  verifycc: verifyCC,
};

const REFUSED: Record<string, string> = {
  rbl: 'needs DNS block-list look-ups, which the engine does not do',
  geolookup: 'needs a GeoIP database, which the engine does not have',
  inspectfile: 'runs an external program on uploaded files, which the engine never does',
  validatedtd: 'XML DTD validation is not supported',
  validateschema: 'XML schema validation is not supported',
  fuzzyhash: 'fuzzy hashing (ssdeep) is not supported',
  gsblookup: 'Google Safe Browsing look-ups are not supported',
  validatehash: 'applies to responses only',
  verifycpf: 'not supported',
  verifyssn: 'not supported',
  verifysvnr: 'not supported',
  rsub: 'stream rewriting does not apply to a request-only engine',
};

/** Finds an operator by name (case-insensitive); a string explains why it is unavailable. */
export function findOperator(name: string): OperatorFactory | string {
  const key = name.toLowerCase();
  const factory = REGISTRY[key];
  if (factory) return factory;
  const why = REFUSED[key];
  return why ? `operator @${name} is not supported: ${why}` : `unknown operator @${name}`;
}
