/** The line a bench target (targets.ts) prints on stdout once it listens; the parent waits for it. */
export interface ReadyLine {
  ready: true;
  port: number;
}

/** Type guard for {@link ReadyLine}. */
export function isReadyLine(line: unknown): line is ReadyLine {
  const candidate = line as Partial<ReadyLine> | null;
  return typeof candidate === 'object' && candidate !== null && candidate.ready === true && typeof candidate.port === 'number';
}
