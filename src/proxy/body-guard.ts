import type { IncomingMessage } from 'node:http';

/** The rules a request body must keep (see `CLIENT_BODY_TIMEOUT` and `CLIENT_BODY_MIN_RATE`). */
export interface BodyRules {
  /** Longest pause between two reads, in ms. */
  idleMs: number;
  /** Bytes per second that buy one more second after the grace period; 0 turns the rate rule off. */
  minRate: number;
  /** Time a body gets before the rate rule applies, in ms. */
  graceMs: number;
}

/** Why a body was cut. */
export type BodyCut = 'body.stalled' | 'body.too_slow';

interface Watched {
  req: IncomingMessage;
  /** `socket.bytesRead` when watching began. */
  startBytes: number;
  lastBytes: number;
  lastProgressAt: number;
  /** The deadline of the rate rule before the bytes received extend it. */
  baseDeadline: number;
  onCut: (why: BodyCut) => void;
}

/**
 * Watches request bodies while they arrive and cuts those that pause longer than `idleMs`
 * or arrive slower than the rate rule allows — Apache mod_reqtimeout's `body=20,MinRate=500`:
 * the deadline starts at `graceMs` and grows by one second per `minRate` bytes received, so a
 * large upload at a sane speed passes and a trickle dies soon after the grace period.
 *
 * Progress is read from the socket's byte count on one shared timer: nothing touches the
 * body stream, which the forwarder (or a plugin) reads as usual. Time during which the
 * proxy itself does not read — the body's buffer is full because the upstream is slow to
 * take it — is not held against the client.
 */
export class BodyGuard {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;
  private lastTick = 0;

  constructor(
    private readonly rules: BodyRules,
    private readonly tickMs = 250,
  ) {}

  /** Bodies being watched now. */
  get size(): number {
    return this.watched.size;
  }

  /** Watches `req`'s body until it is complete or its connection closes; `onCut` runs at most once. */
  watch(req: IncomingMessage, onCut: (why: BodyCut) => void): void {
    if (req.complete) return;
    const now = Date.now();
    const bytes = req.socket.bytesRead;
    this.watched.add({ req, startBytes: bytes, lastBytes: bytes, lastProgressAt: now, baseDeadline: now + this.rules.graceMs, onCut });
    if (!this.timer) {
      this.lastTick = now;
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref();
    }
  }

  /** Stops the timer; bodies still watched are left alone. */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }

  private tick(): void {
    const now = Date.now();
    const elapsed = now - this.lastTick;
    this.lastTick = now;
    for (const body of this.watched) {
      const { req } = body;
      if (req.complete || req.socket.destroyed) {
        this.watched.delete(body);
        continue;
      }
      const bytes = req.socket.bytesRead;
      if (bytes !== body.lastBytes) {
        body.lastBytes = bytes;
        body.lastProgressAt = now;
      } else if (req.readableLength >= req.readableHighWaterMark) {
        // Our side is not reading (the upstream has not taken what we have): the client waits on us.
        body.lastProgressAt = now;
        body.baseDeadline += elapsed;
      }
      const received = bytes - body.startBytes;
      const why: BodyCut | undefined =
        now - body.lastProgressAt > this.rules.idleMs
          ? 'body.stalled'
          : this.rules.minRate > 0 && now > body.baseDeadline + (received / this.rules.minRate) * 1000
            ? 'body.too_slow'
            : undefined;
      if (why) {
        this.watched.delete(body);
        body.onCut(why);
      }
    }
    if (this.watched.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
