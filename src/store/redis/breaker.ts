/** Tunables of the circuit breaker; defaults suit a request path with a tens-of-ms budget. */
export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** Time between half-open probes while open. */
  probeIntervalMs: number;
  /** A cheap command proving Redis answers again (PING through the pool). */
  probe: () => Promise<unknown>;
  /** Called on every open/close transition. */
  onChange: (open: boolean, reason: string) => void;
}

/**
 * Keeps the request path off a failing Redis. Closed: commands run, consecutive failures
 * are counted. Open: `allows()` is false, so requests use local state without trying Redis;
 * a background probe runs every `probeIntervalMs` (half-open) and closes the breaker on
 * success. Requests themselves are never the probe, so none waits on a dead Redis.
 */
export class CircuitBreaker {
  private failures = 0;
  private open = false;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private lastReason = '';

  constructor(private readonly options: BreakerOptions) {}

  /** True when the request path may call Redis. */
  allows(): boolean {
    return !this.open;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Why the breaker opened last (for /readyz and logs). */
  get reason(): string {
    return this.lastReason;
  }

  success(): void {
    this.failures = 0;
  }

  failure(reason: string): void {
    this.failures++;
    if (!this.open && this.failures >= this.options.failureThreshold) this.trip(reason);
  }

  /** Opens at once (e.g. every pool connection is down). */
  trip(reason: string): void {
    this.lastReason = reason;
    if (this.open) return;
    this.open = true;
    this.options.onChange(true, reason);
    this.timer = setInterval(() => void this.probeOnce(), this.options.probeIntervalMs);
    this.timer.unref();
  }

  /** Runs a probe now (e.g. a connection just came back) instead of waiting for the timer. */
  probeNow(): void {
    if (this.open) void this.probeOnce();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async probeOnce(): Promise<void> {
    if (this.probing || !this.open) return;
    this.probing = true;
    try {
      await this.options.probe();
      this.stop();
      this.open = false;
      this.failures = 0;
      this.options.onChange(false, 'probe succeeded');
    } catch {
      // Still down: the next probe runs after the interval.
    } finally {
      this.probing = false;
    }
  }
}
