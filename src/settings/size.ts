const UNIT_BYTES = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as const;
const SIZE = /^(\d+)([kmg])?$/i;

/**
 * Parses a size as nginx writes it — bytes (`512`), or `k`, `m`, `g` (1024-based, either
 * case: `10m`) — into bytes. Returns undefined for anything else (fractions, negative, `mb`).
 */
export function parseSize(text: string): number | undefined {
  const match = SIZE.exec(text.trim());
  if (!match) return undefined;
  const bytes = Number(match[1]) * (match[2] ? UNIT_BYTES[match[2].toLowerCase() as keyof typeof UNIT_BYTES] : 1);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Renders bytes back in the largest exact unit (`10m`), for docs and `config check`. */
export function formatSize(bytes: number): string {
  for (const unit of ['g', 'm', 'k'] as const) {
    const size = UNIT_BYTES[unit];
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}
