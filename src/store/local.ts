import { PalisadeError } from '../errors.js';
import { BanTable, canonicalTarget } from './ban-table.js';
import type { Ban, BanFacet, BanRequest, ClusterStore, StoreHealth } from './types.js';

/** Longest evidence kept with a ban, in bytes of UTF-8 (it is attacker-controlled). */
export const MAX_EVIDENCE_BYTES = 4096;

/**
 * The embedded store of a single node (`USE_REDIS=no`): everything in this process's memory.
 * State does not survive a restart and is not shared; `/readyz` reports `local`.
 */
export class LocalStore implements ClusterStore {
  readonly bans: BanFacet;
  private readonly table: BanTable;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly nodeName: string, now: () => number = Date.now) {
    this.table = new BanTable(now);
    this.bans = new LocalBans(this.table, nodeName, now);
    this.sweeper = setInterval(() => this.table.sweep(), 60_000);
    this.sweeper.unref();
  }

  health(): StoreHealth {
    return { mode: 'local' };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}

class LocalBans implements BanFacet {
  constructor(
    private readonly table: BanTable,
    private readonly nodeName: string,
    private readonly now: () => number,
  ) {}

  match(ip: string): Ban | undefined {
    return this.table.match(ip);
  }

  async add(request: BanRequest): Promise<Ban> {
    const target = canonicalTarget(request.target);
    if (target === undefined) throw new PalisadeError('PAL_BAD_REQUEST', `not an IP or CIDR: ${JSON.stringify(request.target)}`);
    const createdAt = this.now();
    const ban: Ban = {
      target,
      reason: request.reason,
      origin: request.origin,
      actor: request.actor ?? request.origin,
      node: this.nodeName,
      createdAt,
      expiresAt: request.durationMs > 0 ? createdAt + request.durationMs : null,
      evidence: truncateUtf8(request.evidence ?? '', MAX_EVIDENCE_BYTES),
    };
    this.table.set(ban);
    return ban;
  }

  async remove(target: string): Promise<boolean> {
    const canonical = canonicalTarget(target);
    return canonical !== undefined && this.table.delete(canonical);
  }

  list(): Ban[] {
    return this.table.list();
  }
}

/** Cuts `text` to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= maxBytes) return text;
  return new TextDecoder('utf-8', { fatal: false }).decode(buffer.subarray(0, maxBytes)).replace(/\uFFFD$/, '');
}
