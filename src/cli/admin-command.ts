import { exitCodes } from '../errors.js';
import { AdminClient, AdminUnreachable, type AdminAnswer } from './admin-client.js';

/** Prints an API refusal as one line and returns exit code 1. */
export function refused(answer: AdminAnswer): number {
  let message = `HTTP ${answer.status}`;
  try {
    const body = JSON.parse(answer.body) as { error?: string; code?: string };
    if (body.error) message = `${body.error}${body.code ? ` [${body.code}]` : ''}`;
  } catch {
    // not JSON: the status says enough
  }
  process.stderr.write(`palisade: ${message}\n`);
  return exitCodes.failure;
}

/** Runs an action against the admin API; maps unreachable to exit 2. */
export async function run(action: (client: AdminClient) => Promise<number>): Promise<void> {
  try {
    process.exitCode = await action(new AdminClient());
  } catch (error) {
    if (error instanceof AdminUnreachable) {
      process.stderr.write(`palisade: ${error.message}\n`);
      process.exitCode = exitCodes.unreachable;
      return;
    }
    process.stderr.write(`palisade: ${(error as Error).message}\n`);
    process.exitCode = exitCodes.failure;
  }
}

/** A plain aligned table; control characters in attacker-supplied text are shown as `?`. */
export function table(header: string[], rows: string[][]): string {
  const clean = rows.map((row) => row.map((cell) => cell.replace(/[\x00-\x1f\x7f]/g, '?')));
  const widths = header.map((title, i) => Math.max(title.length, ...clean.map((row) => row[i]!.length)));
  return [header, ...clean].map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

