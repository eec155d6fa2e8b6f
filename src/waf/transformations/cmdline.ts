import { ByteOut } from './bytes-out.js';

/** What makes `cmdLine` change a value: a deleted or lower-cased byte, a separator other than one space, or a space before `/`, `(` or another space. */
const UNCHANGED_UNLESS = /[\\"'^A-Z,;\t\r\n]| [ /(]/;

/**
 * `t:cmdLine` — normalises a shell command line the way ModSecurity does: deletes
 * `\ " ' ^`, turns runs of `, ; space \t \r \n` into one space, deletes a space before
 * `/` or `(`, and lower-cases (ASCII).
 */
export function cmdLine(input: string): string {
  // Nothing to change (plain lower-case words separated by single spaces): no byte loop.
  if (!UNCHANGED_UNLESS.test(input)) return input;
  const out = new ByteOut(input.length);
  let space = false;
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    switch (c) {
      case 0x22:
      case 0x27:
      case 0x5c:
      case 0x5e: // " ' \ ^
        break;
      case 0x20:
      case 0x2c:
      case 0x3b:
      case 0x09:
      case 0x0d:
      case 0x0a: // space , ; \t \r \n
        if (!space) {
          out.push(0x20);
          space = true;
        }
        break;
      case 0x2f:
      case 0x28: // / (
        if (space) out.pop();
        space = false;
        out.push(c);
        break;
      default:
        out.push(c >= 0x41 && c <= 0x5a ? c + 32 : c);
        space = false;
    }
  }
  return out.toString();
}
