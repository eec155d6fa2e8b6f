/**
 * The transformation registry. Names are matched case-insensitively, as ModSecurity
 * does (`t:base64decode` works). `none` is handled by the compiler (it clears the list).
 */
import { lowercase, uppercase } from './case.js';
import { cmdLine } from './cmdline.js';
import { removeComments, removeCommentsChar, replaceComments } from './comments.js';
import { length, md5, sha1 } from './digest.js';
import { base64Decode, base64DecodeExt, base64Encode, hexDecode, hexEncode, sqlHexDecode } from './encoding.js';
import { htmlEntityDecode } from './entities.js';
import { cssDecode, escapeSeqDecode, jsDecode } from './escapes.js';
import { parityEven7bit, parityOdd7bit, parityZero7bit } from './parity.js';
import { normalisePath, normalisePathWin } from './path.js';
import type { Transformation } from './types.js';
import { urlDecode, urlDecodeUni, urlEncode } from './url.js';
import { utf8toUnicode } from './utf8.js';
import { compressWhitespace, removeNulls, removeWhitespace, replaceNulls, trim, trimLeft, trimRight } from './whitespace.js';

export type { Transformation } from './types.js';

const REGISTRY: Record<string, Transformation> = {
  lowercase,
  uppercase,
  cmdline: cmdLine,
  removecomments: removeComments,
  removecommentschar: removeCommentsChar,
  replacecomments: replaceComments,
  length,
  md5,
  sha1,
  base64decode: base64Decode,
  base64decodeext: base64DecodeExt,
  base64encode: base64Encode,
  hexdecode: hexDecode,
  hexencode: hexEncode,
  sqlhexdecode: sqlHexDecode,
  htmlentitydecode: htmlEntityDecode,
  cssdecode: cssDecode,
  jsdecode: jsDecode,
  escapeseqdecode: escapeSeqDecode,
  parityeven7bit: parityEven7bit,
  parityodd7bit: parityOdd7bit,
  parityzero7bit: parityZero7bit,
  normalisepath: normalisePath,
  normalizepath: normalisePath,
  normalisepathwin: normalisePathWin,
  normalizepathwin: normalisePathWin,
  urldecode: urlDecode,
  urldecodeuni: urlDecodeUni,
  urlencode: urlEncode,
  utf8tounicode: utf8toUnicode,
  compresswhitespace: compressWhitespace,
  removenulls: removeNulls,
  removewhitespace: removeWhitespace,
  replacenulls: replaceNulls,
  trim,
  trimleft: trimLeft,
  trimright: trimRight,
};

/** Looks a transformation up by its `t:` name; undefined when unknown. */
export function findTransformation(name: string): Transformation | undefined {
  return REGISTRY[name.toLowerCase()];
}
