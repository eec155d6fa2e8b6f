import { randomUUID } from 'node:crypto';

/** A held lock; release it when done (it also expires by itself). */
export interface Lease {
  readonly name: string;
  /** Gives the lock back, only if this lease still holds it. */
  release(): Promise<void>;
}

/** Leases for work one node of the cluster should do at a time. */
export interface LockFacet {
  /** Takes `name` for `ttlMs`, or resolves undefined when another holder has it. */
  acquire(name: string, ttlMs: number): Promise<Lease | undefined>;
}

/** Remote leases (Redis `SET NX PX` + compare-and-delete); calls may throw. */
export interface RemoteLocks {
  acquire(name: string, token: string, ttlMs: number): Promise<boolean>;
  release(name: string, token: string): Promise<void>;
}

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
