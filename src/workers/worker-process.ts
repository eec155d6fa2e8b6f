/**
 * The program a worker process runs (`node:cluster` forks it from the primary): the request
 * path only. The command line, the admin API, the settings validator and the Redis client
 * stay in the primary, so a worker boots on what serving needs.
 */
import { describeError } from '../log.js';
import { runWorker } from './worker-main.js';

runWorker().catch((error: unknown) => {
  process.stderr.write(`palisade worker: ${describeError(error)}\n`);
  process.exitCode = 1;
});
