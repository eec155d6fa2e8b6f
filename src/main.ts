import { PalisadeError, coded, exitCodes } from './errors.js';
import { describeError } from './log.js';
import { startNode } from './node.js';
import { builtinPlugins } from '../plugins/index.js';
import { settingsSpec } from './plugin/catalog.js';
import { readSettings } from './settings/read.js';
import { loadFromProcess } from './process-settings.js';

/**
 * `palisade start`: boot → serve → on SIGTERM/SIGINT drain, close plugins and store, exit 0.
 * Invalid settings exit 78 before anything listens; a boot failure exits 1 with its code.
 */
export async function main(): Promise<void> {
  const read = await loadFromProcess();
  const loaded = read.result;
  if (!loaded.ok) {
    process.exitCode = exitCodes.config;
    return;
  }
  let node;
  try {
    node = await startNode({
      settings: loaded.settings,
      secrets: loaded.secrets,
      startedWith: read,
      readSettings: () => readSettings(settingsSpec(builtinPlugins)),
    });
  } catch (error) {
    const code = error instanceof PalisadeError ? error.code : 'PAL_INTERNAL';
    process.stderr.write(`palisade: ${describeError(error)} [${code}]\n`);
    process.exitCode = exitCodes.failure;
    return;
  }
  // Last resort: an error nothing handled. State is unknown, so stop; say it in one line
  // on stderr, with the stack only in the JSON log for whoever debugs it.
  process.on('uncaughtException', (error) => {
    node.log.fatal(coded('PAL_INTERNAL', { err: error }), 'uncaught exception');
    process.stderr.write(`palisade: internal error: ${describeError(error)} [PAL_INTERNAL]\n`);
    process.exit(exitCodes.failure);
  });
  // A promise a library rejected with nobody listening (a client's internal retry, say) is
  // logged, not fatal: the proxy's state is intact, and exiting would drop every request.
  process.on('unhandledRejection', (reason) => {
    node.log.error(coded('PAL_INTERNAL', { err: describeError(reason) }), 'unhandled promise rejection');
  });
  let signals = 0;
  const shutdown = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      node.log.warn({ signal }, 'second signal: exiting now');
      process.exit(exitCodes.failure);
    }
    node.log.info({ signal }, 'shutting down');
    void node.stop().then(() => process.exit(exitCodes.ok));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // SIGHUP re-reads .env and every *_FILE; the outcome is logged (and counted) by the node.
  process.on('SIGHUP', () => {
    node.log.info('SIGHUP: reloading');
    void node.reload();
  });
}
