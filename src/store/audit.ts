import { randomUUID } from 'node:crypto';
import type { AuditEntry, AuditFacet } from './types.js';
import type { RemoteAudit } from './shared-backend.js';

/** Entries delivered per call. */
const APPEND_BATCH = 500;

/**
 * The one audit writer, owned by the store: the ban facet records every ban change, the
 * admin listener the requests it refused for their role (nothing else records). Every entry is
 * kept on this node (its own, newest last, up to the trail's length) and delivered to the
 * shared trail when there is one: what Redis did not take is retried by {@link flush}, and
 * {@link reassert} writes the node's entries again after Redis lost its state — entries
 * carry ids, so nothing is ever listed twice. Reads wait at most `budgetMs` for Redis.
 */
export class Audit implements AuditFacet {
  private readonly own: AuditEntry[] = [];
  private readonly undelivered = new Map<string, AuditEntry>();
  private delivering: Promise<void> | undefined;

  constructor(
    private readonly remote: () => RemoteAudit | undefined,
    private readonly capacity: number,
    private readonly budgetMs = 1_000,
  ) {}

  /** Records one change; returns at once (delivery happens in the background). */
  record(entry: Omit<AuditEntry, 'id'>): AuditEntry {
    const full: AuditEntry = { id: randomUUID(), ...entry };
    this.own.push(full);
    if (this.own.length > this.capacity) this.own.splice(0, this.own.length - this.capacity);
    if (this.remote()) {
      this.undelivered.set(full.id, full);
      if (this.undelivered.size > this.capacity) this.undelivered.delete(this.undelivered.keys().next().value as string);
      void this.flush();
    }
    return full;
  }

  /** Delivers what the shared trail has not taken yet; one delivery at a time. Never throws. */
  flush(): Promise<void> {
    this.delivering ??= this.deliver([...this.undelivered.values()]).finally(() => (this.delivering = undefined));
    return this.delivering;
  }

  /** Writes every entry this node keeps again (after Redis lost its state). Never throws. */
  async reassert(): Promise<void> {
    for (const entry of this.own) this.undelivered.set(entry.id, entry);
    await this.delivering;
    await this.flush();
  }

  async list(limit: number): Promise<AuditEntry[]> {
    const remote = this.remote();
    if (remote) {
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          remote.read(limit),
          new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('audit read over budget')), this.budgetMs))),
        ]);
      } catch {
        // Redis slow or gone: this node's own entries.
      } finally {
        clearTimeout(timer);
      }
    }
    return this.own.slice(-limit).reverse();
  }

  private async deliver(entries: AuditEntry[]): Promise<void> {
    const remote = this.remote();
    if (!remote) return;
    for (let i = 0; i < entries.length; i += APPEND_BATCH) {
      const batch = entries.slice(i, i + APPEND_BATCH);
      try {
        await remote.append(batch);
      } catch {
        return; // kept; the next flush tries again
      }
      for (const entry of batch) this.undelivered.delete(entry.id);
    }
  }
}
