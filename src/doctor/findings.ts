/** One doctor finding: what was checked, how bad it is, and the one-line fix. */
export interface Finding {
  check: string;
  severity: 'error' | 'warn' | 'info' | 'ok';
  message: string;
  fix?: string;
}

/** Renders findings as an aligned table for people. */
export function formatFindings(header: string, findings: Finding[]): string {
  const width = Math.max(...findings.map((f) => f.check.length));
  const lines = [header];
  for (const f of findings) {
    lines.push(`  ${f.severity.padEnd(5)}  ${f.check.padEnd(width)}  ${f.message}`);
    if (f.fix) lines.push(`  ${' '.repeat(5)}  ${' '.repeat(width)}  fix: ${f.fix}`);
  }
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.filter((f) => f.severity === 'warn').length;
  lines.push(`${errors} error(s), ${warnings} warning(s)`);
  return lines.join('\n');
}
