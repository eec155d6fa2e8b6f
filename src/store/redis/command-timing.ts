/** How a request-path command ended, as the command histogram labels it. */
export type CommandOutcome = 'ok' | 'error' | 'unavailable';

/** Sees one request-path round trip to Redis: the command, how long it took in seconds, how it ended. */
export type ObserveCommand = (command: string, seconds: number, outcome: CommandOutcome) => void;

/** Seconds since `started`, a `process.hrtime.bigint()` reading. */
export function secondsSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * How a call that threw counts: `unavailable` when it was never sent (a `RedisUnavailable`
 * from the connections: breaker open, no connection ready), `error` for anything else.
 */
export function failedOutcome(error: unknown): CommandOutcome {
  return (error as Error).name === 'RedisUnavailable' ? 'unavailable' : 'error';
}

/** Runs `run`, one round trip, and observes it as one `command`; what it throws is thrown on. */
export async function timed<T>(observe: ObserveCommand, command: string, run: () => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  try {
    const result = await run();
    observe(command, secondsSince(started), 'ok');
    return result;
  } catch (error) {
    observe(command, secondsSince(started), failedOutcome(error));
    throw error;
  }
}
