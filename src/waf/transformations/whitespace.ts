/**
 * Whitespace and NUL transformations. ModSecurity's whitespace is C `isspace` (space,
 * \t \n \v \f \r) plus the non-breaking space byte 0xA0.
 */

const SPACE_RUN = /[\t\n\v\f\r \xa0]+/g;
/** Whitespace that `compressWhitespace` changes: a lone space stays as it is, so only other runs are rewritten. */
const CHANGING_SPACE = /[\t\n\v\f\r\xa0][\t\n\v\f\r \xa0]*| [\t\n\v\f\r \xa0]+/g;

/** `t:compressWhitespace` — every run of whitespace becomes one space. */
export function compressWhitespace(input: string): string {
  return input.replace(CHANGING_SPACE, ' ');
}

/** `t:removeWhitespace` — deletes all whitespace bytes. */
export function removeWhitespace(input: string): string {
  return input.replace(SPACE_RUN, '');
}

/** `t:removeNulls` — deletes NUL bytes. */
export function removeNulls(input: string): string {
  return input.includes('\0') ? input.replace(/\0/g, '') : input;
}

/** `t:replaceNulls` — NUL bytes become spaces. */
export function replaceNulls(input: string): string {
  return input.includes('\0') ? input.replace(/\0/g, ' ') : input;
}

/** `t:trimLeft` — removes leading whitespace (C isspace). */
export function trimLeft(input: string): string {
  return input.replace(/^[\t\n\v\f\r ]+/, '');
}

/** `t:trimRight` — removes trailing whitespace (C isspace). */
export function trimRight(input: string): string {
  return input.replace(/[\t\n\v\f\r ]+$/, '');
}

/** `t:trim` — both sides. */
export function trim(input: string): string {
  return trimRight(trimLeft(input));
}
