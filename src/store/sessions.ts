import type { LRUCache } from 'lru-cache';
import { growingLru } from './growing-lru.js';
import type { SessionRecord, SessionFacet } from './types.js';
import type { RemoteSessions } from './shared-backend.js';

const ID = /^[A-Za-z0-9_-]{16,128}$/;
const LOCAL_SESSIONS = 100_000;

/**
 * The session facet: Redis when shared, this node's LRU otherwise and when Redis fails. Writes
 * go to both, so a node that loses Redis still knows the sessions it served. A session this
 * node does not know while degraded is simply absent: the caller re-challenges, never trusts.
 */
export class Sessions implements SessionFacet {
  private readonly local: LRUCache<string, SessionRecord>;

  /** The facet as the contract's remote part (its own methods): how the node's sessions serve its workers. */
  get remote(): RemoteSessions {
    return this;
  }

  constructor(
    private readonly backend: () => RemoteSessions | undefined,
    private readonly now: () => number = Date.now,
    /** Sessions kept in memory (a worker, whose copy is only a fallback, keeps fewer). */
    capacity = LOCAL_SESSIONS,
  ) {
    this.local = growingLru(capacity, { ttlAutopurge: false });
  }

  async get(id: string, touchIdleMs?: number): Promise<SessionRecord | undefined> {
    if (!ID.test(id)) return undefined;
    const remote = this.backend();
    if (remote) {
      try {
        const record = await remote.get(id, touchIdleMs);
        if (record) this.remember(id, record, touchIdleMs);
        else this.local.delete(id);
        return record;
      } catch {
        // degraded: this node's copy, if any
      }
    }
    const record = this.local.get(id);
    if (!record) return undefined;
    if (record.absoluteExpiresAt <= this.now()) {
      this.local.delete(id);
      return undefined;
    }
    if (touchIdleMs !== undefined) this.remember(id, record, touchIdleMs);
    return record;
  }

  async set(id: string, record: SessionRecord, idleMs: number): Promise<void> {
    if (!ID.test(id)) throw new TypeError('session ids are 16 to 128 characters of [A-Za-z0-9_-]');
    const ttl = this.remember(id, record, idleMs);
    if (ttl <= 0) return;
    await this.backend()
      ?.set(id, record, ttl)
      .catch(() => undefined);
  }

  async destroy(id: string): Promise<void> {
    this.local.delete(id);
    await this.backend()
      ?.destroy(id)
      .catch(() => undefined);
  }

  /** Caches `record` for the shorter of the idle and the absolute lifetime; returns that TTL. */
  private remember(id: string, record: SessionRecord, idleMs: number | undefined): number {
    const ttl = Math.min(idleMs ?? Infinity, record.absoluteExpiresAt - this.now());
    if (ttl > 0) this.local.set(id, record, { ttl: Number.isFinite(ttl) ? ttl : undefined });
    else this.local.delete(id);
    return ttl;
  }
}
