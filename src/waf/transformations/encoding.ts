/** Base64 and hex transformations, on bytes. */
import { hexPair, isHexPair } from './url.js';

/** `t:base64Decode` — decodes the leading run of valid base64 (stops at the first other byte). */
export function base64Decode(input: string): string {
  const m = /^[A-Za-z0-9+/]*={0,2}/.exec(input);
  const valid = m ? m[0] : '';
  return Buffer.from(valid, 'base64').toString('latin1');
}

/** `t:base64DecodeExt` — forgiving: bytes outside the base64 alphabet are skipped. */
export function base64DecodeExt(input: string): string {
  return Buffer.from(input.replace(/[^A-Za-z0-9+/]/g, ''), 'base64').toString('latin1');
}

/** `t:base64Encode`. */
export function base64Encode(input: string): string {
  return Buffer.from(input, 'latin1').toString('base64');
}

/** `t:hexDecode` — each pair of hex digits becomes a byte; decoding stops at a non-pair. */
export function hexDecode(input: string): string {
  let out = '';
  for (let i = 0; i + 1 < input.length && isHexPair(input, i); i += 2) out += String.fromCharCode(hexPair(input, i));
  return out;
}

/** `t:hexEncode` — each byte as two lowercase hex digits. */
export function hexEncode(input: string): string {
  return Buffer.from(input, 'latin1').toString('hex');
}

/** `t:sqlHexDecode` — SQL hex literals `0xHHHH…` become their bytes. */
export function sqlHexDecode(input: string): string {
  return input.replace(/0[xX]((?:[0-9a-fA-F]{2})+)/g, (_, hex: string) => Buffer.from(hex, 'hex').toString('latin1'));
}
