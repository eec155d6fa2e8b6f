/** Operators without a parameter, and `@verifyCC`. */
import { compilePcre } from './rx.js';
import type { OperatorFactory } from './types.js';

/** `@unconditionalMatch` — always matches. */
export const unconditionalMatch: OperatorFactory = () => () => true;

/** `@noMatch` — never matches. */
export const noMatch: OperatorFactory = () => () => false;

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 0x30;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** `@verifyCC regex` — a regex finds a candidate number that passes the Luhn check. */
export const verifyCC: OperatorFactory = (param) => {
  const compiled = compilePcre(param.text);
  if (typeof compiled === 'string') return compiled;
  const global = new RegExp(compiled.regex.source, compiled.regex.flags + 'g');
  return (value, rt) => {
    global.lastIndex = 0;
    for (let m = global.exec(value); m !== null; m = global.exec(value)) {
      const digits = m[0].replace(/\D/g, '');
      if (digits.length >= 13 && digits.length <= 19 && luhn(digits)) {
        if (rt.captures) {
          rt.captures.length = 0;
          rt.captures.push(m[0]);
        }
        return true;
      }
      if (m[0] === '') global.lastIndex++;
    }
    return false;
  };
};
