import type { Logger } from 'pino';
import { describeError } from '../log.js';
import type { JobOptions, MaybePromise } from './types.js';

/** Decides whether this node runs a leader-only job now (a lease in cluster mode). */
export type LeaderCheck = (jobName: string, intervalMs: number) => MaybePromise<boolean>;

/**
 * Runs periodic jobs: never two runs of one job at once, errors logged (a failing job never
 * takes the process down), timers unref'd so they never keep a stopping process alive.
 */
export class Scheduler {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly log: Logger,
    private readonly isLeader: LeaderCheck = () => true,
  ) {}

  /** Schedules `job`; returns the function that cancels it. */
  every(intervalMs: number, job: () => MaybePromise<void>, options: JobOptions): () => void {
    let running = false;
    const run = async (): Promise<void> => {
      if (running) return;
      running = true;
      try {
        if (options.leader && !(await this.isLeader(options.name, intervalMs))) return;
        await job();
      } catch (error) {
        this.log.warn({ job: options.name, err: describeError(error) }, 'scheduled job failed');
      } finally {
        running = false;
      }
    };
    const timer = setInterval(() => void run(), intervalMs);
    timer.unref();
    this.timers.add(timer);
    if (options.immediate) void run();
    return () => {
      clearInterval(timer);
      this.timers.delete(timer);
    };
  }

  /** Cancels every job. */
  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.clear();
  }
}
