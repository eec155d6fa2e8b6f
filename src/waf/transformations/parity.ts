/** 7-bit parity transformations: `t:parityEven7bit`, `t:parityOdd7bit`, `t:parityZero7bit`. */

function bitCount7(c: number): number {
  let bits = 0;
  for (let v = c & 0x7f; v; v >>= 1) bits += v & 1;
  return bits;
}

function mapBytes(input: string, f: (c: number) => number): string {
  let out = '';
  for (let i = 0; i < input.length; i++) out += String.fromCharCode(f(input.charCodeAt(i)));
  return out;
}

/** Sets the high bit so each byte has an even number of one bits. */
export function parityEven7bit(input: string): string {
  return mapBytes(input, (c) => (c & 0x7f) | (bitCount7(c) % 2 === 1 ? 0x80 : 0));
}

/** Sets the high bit so each byte has an odd number of one bits. */
export function parityOdd7bit(input: string): string {
  return mapBytes(input, (c) => (c & 0x7f) | (bitCount7(c) % 2 === 0 ? 0x80 : 0));
}

/** Clears the high bit of each byte. */
export function parityZero7bit(input: string): string {
  return mapBytes(input, (c) => c & 0x7f);
}
