/**
 * Case transformations. ModSecurity uses C `tolower`/`toupper` in the C locale, so only
 * ASCII letters change; bytes 0x80–0xFF are left alone (unlike `String#toLowerCase`).
 */

/** `t:lowercase` — ASCII A–Z to a–z. */
export function lowercase(input: string): string {
  if (!/[A-Z]/.test(input)) return input;
  // The native toLowerCase is right unless Latin-1 capitals (À–Þ, which C leaves alone) occur.
  if (!/[\xc0-\xd6\xd8-\xde]/.test(input)) return input.toLowerCase();
  return input.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** `t:uppercase` — ASCII a–z to A–Z. */
export function uppercase(input: string): string {
  if (!/[a-z]/.test(input)) return input;
  return input.replace(/[a-z]+/g, (m) => m.toUpperCase());
}
