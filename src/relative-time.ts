/** `12s ago`, `5m ago`, `3h ago`, `2d ago`; `in 4h` for a time ahead. */
export function relative(ms: number, now: number): string {
  const delta = Math.round((now - ms) / 1000);
  const size = Math.abs(delta);
  const text =
    size < 120 ? `${size}s` : size < 7_200 ? `${Math.round(size / 60)}m` : size < 172_800 ? `${Math.round(size / 3_600)}h` : `${Math.round(size / 86_400)}d`;
  return delta >= 0 ? `${text} ago` : `in ${text}`;
}
