import { exitCodes } from '../errors.js';
import { AdminClient, AdminUnreachable, type AdminAnswer } from './admin-client.js';

/** Widest a table column gets; longer cells (attacker-supplied reasons) end in `…`. */
const MAX_CELL = 48;

/** What to do when the API does not know the caller: where the CLI takes its token from. */
const TOKEN_HINT = "set PALISADE_ADMIN_TOKEN (or PALISADE_ADMIN_TOKEN_FILE) to your token of the node's ADMIN_TOKENS, or ADMIN_TOKEN";

/**
 * `text` safe for a terminal: control characters (C0, DEL, C1 — an escape sequence could
 * rewrite the screen) and bidirectional overrides shown as `\xNN` / `\u{NNNN}` instead of
 * acting. Reasons, evidence and actors come from attackers and API callers.
 */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** Prints an API refusal as one line and returns exit code 1. */
export function refused(answer: AdminAnswer): number {
  let message = `HTTP ${answer.status}`;
  try {
    const body = JSON.parse(answer.body) as { error?: string; code?: string };
    if (body.error) message = `${body.error}${body.code ? ` [${body.code}]` : ''}`;
    if (body.code === 'PAL_ADMIN_UNAUTHORIZED') message += `: ${TOKEN_HINT}`;
  } catch {
    // not JSON: the status says enough
  }
  process.stderr.write(`palisade: ${printable(message)}\n`);
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

/** A plain aligned table; control characters shown escaped ({@link printable}), cells cut at {@link MAX_CELL} characters. */
export function table(header: string[], rows: string[][]): string {
  const clean = rows.map((row) =>
    row.map((cell) => {
      const shown = printable(cell);
      return shown.length > MAX_CELL ? `${shown.slice(0, MAX_CELL - 1)}…` : shown;
    }),
  );
  const widths = header.map((title, i) => Math.max(title.length, ...clean.map((row) => row[i]!.length)));
  return [header, ...clean]
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
