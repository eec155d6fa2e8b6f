import type { Command } from 'commander';
import { exitCodes } from '../errors.js';
import { AdminClient, AdminUnreachable } from './admin-client.js';

/**
 * `palisade reload`: asks the local node (or `PALISADE_ADMIN_URL`) to re-read its settings,
 * as `SIGHUP` does, and prints what it did. Exit 0 applied, 1 refused, 2 unreachable.
 */
export function registerReloadCommand(program: Command): void {
  program
    .command('reload')
    .description('re-read .env and every *_FILE and apply them without dropping a request; exit 0 applied, 1 refused, 2 unreachable')
    .action(async () => {
      try {
        const answer = await new AdminClient().call('POST', '/api/reload');
        const body = JSON.parse(answer.body || '{}') as {
          changed?: string[];
          restartNeeded?: string[];
          error?: string;
          code?: string;
          errors?: Array<{ message: string }>;
        };
        if (answer.status === 200) {
          const changed = body.changed ?? [];
          process.stdout.write(changed.length === 0 ? 'reloaded: nothing changed\n' : `reloaded: ${changed.join(', ')}\n`);
          if (body.restartNeeded?.length) process.stdout.write(`applied at the next start: ${body.restartNeeded.join(', ')}\n`);
          process.exitCode = exitCodes.ok;
          return;
        }
        process.stderr.write(`palisade: ${body.error ?? `HTTP ${answer.status}`}${body.code ? ` [${body.code}]` : ''}\n`);
        for (const error of body.errors ?? []) process.stderr.write(`${error.message}\n`);
        process.exitCode = exitCodes.failure;
      } catch (error) {
        process.stderr.write(`palisade: ${(error as Error).message}\n`);
        process.exitCode = error instanceof AdminUnreachable ? exitCodes.unreachable : exitCodes.failure;
      }
    });
}
