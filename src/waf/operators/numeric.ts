/**
 * Numeric comparisons `@eq @ge @gt @le @lt`. Both sides are read like C `atoi`: leading
 * whitespace and sign, then digits; anything else counts as 0.
 */
import type { OperatorFactory } from './types.js';

/** Parses like `atoi`. */
export function toInteger(text: string): number {
  // Fast path: plain digits (nearly every TX value).
  let n = 0;
  let i = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  if (i === text.length && i > 0 && i < 16) return n;
  const m = /^\s*([+-]?\d+)/.exec(text);
  return m ? Number.parseInt(m[1] as string, 10) : 0;
}

function comparison(test: (a: number, b: number) => boolean): OperatorFactory {
  return (param) => {
    if (param.constant) {
      const b = toInteger(param.text);
      return (value) => test(toInteger(value), b);
    }
    return (value, rt) => test(toInteger(value), toInteger(rt.expand(param)));
  };
}

export const eq: OperatorFactory = comparison((a, b) => a === b);
export const ge: OperatorFactory = comparison((a, b) => a >= b);
export const gt: OperatorFactory = comparison((a, b) => a > b);
export const le: OperatorFactory = comparison((a, b) => a <= b);
export const lt: OperatorFactory = comparison((a, b) => a < b);
