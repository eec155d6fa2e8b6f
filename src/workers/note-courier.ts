import { Counter, type Registry } from 'prom-client';
import type { WireChannel } from './channels.js';

/** How often a worker's notes go to its primary: one message for all of them. */
const FLUSH_MS = 200;
/** Notes one message carries at most; more in one interval are dropped (and counted). */
const MAX_NOTES = 1_000;

/**
 * Carries plugins' notes (`PluginContext.tellNode`) from a worker to its primary: gathered
 * and sent together every {@link FLUSH_MS}, so an attack that makes a note per request
 * costs the worker one message per interval, not one per request. Past {@link MAX_NOTES} in
 * an interval notes are dropped and counted in `palisade_plugin_notes_dropped_total`.
 */
export class NoteCourier {
  private notes: Array<[string, unknown]> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly dropped: Counter;

  constructor(
    private readonly channel: WireChannel,
    registry: Registry,
  ) {
    this.dropped = new Counter({
      name: 'palisade_plugin_notes_dropped_total',
      help: "Notes from the workers' plugins to their primary dropped because too many came in one interval (recent detections shown by explain).",
      registers: [registry],
    });
  }

  /** Queues `plugin`'s note for the next message. */
  send(plugin: string, note: unknown): void {
    if (this.notes.length >= MAX_NOTES) {
      this.dropped.inc();
      return;
    }
    this.notes.push([plugin, note]);
    this.timer ??= setTimeout(this.flush, FLUSH_MS);
  }

  /** Sends what is queued now (also on its own every FLUSH_MS). */
  readonly flush = (): void => {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.notes.length === 0) return;
    const notes = this.notes;
    this.notes = [];
    this.channel.send({ t: 'notes', n: notes });
  };
}
