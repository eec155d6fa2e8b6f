import { randomUUID } from 'node:crypto';
import type { Lease, LockFacet } from './types.js';
import type { RemoteLocks } from './shared-backend.js';

const NAME = /^[a-z0-9][a-z0-9:._-]{0,63}$/;

/**
 * The lock facet: remote leases when a shared backend offers them, process-local ones
 * otherwise. A remote failure is not a grant: `acquire` then resolves undefined, so two
 * nodes never both believe they hold a lock because Redis was unreachable.
 */
export class Locks implements LockFacet {
  private readonly local = new Map<string, { token: string; until: number }>();

  constructor(
    private readonly backend: () => RemoteLocks | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** The same leases by holder token, as the contract's remote part: how the node's locks serve its workers. */
  readonly remote: RemoteLocks = {
    acquire: async (name, token, ttlMs) => (await this.acquire(name, ttlMs, token)) !== undefined,
    release: async (name, token) => {
      const remote = this.backend();
      if (remote) await remote.release(name, token).catch(() => undefined);
      else if (this.local.get(name)?.token === token) this.local.delete(name);
    },
  };

  async acquire(name: string, ttlMs: number, token: string = randomUUID()): Promise<Lease | undefined> {
    if (!NAME.test(name)) throw new TypeError(`lock names are short labels ([a-z0-9:._-], ≤ 64): ${name}`);
    const remote = this.backend();
    if (remote) {
      const held = await remote.acquire(name, token, ttlMs).catch(() => false);
      return held ? { name, release: () => remote.release(name, token).catch(() => undefined) } : undefined;
    }
    const now = this.now();
    const current = this.local.get(name);
    if (current && current.until > now && current.token !== token) return undefined;
    this.local.set(name, { token, until: now + ttlMs });
    return {
      name,
      release: async () => {
        if (this.local.get(name)?.token === token) this.local.delete(name);
      },
    };
  }
}
