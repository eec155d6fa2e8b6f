import { PalisadeError } from '../errors.js';
import type { BanLedger } from './ban-ledger.js';
import { canonicalTarget } from './ban-table.js';
import type { Ban, BanChange, BanFacet, BanRequest } from './types.js';

/** Longest evidence kept with a ban, in bytes of UTF-8 (it is attacker-controlled). */
export const MAX_EVIDENCE_BYTES = 4096;

/** Cuts `text` to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= maxBytes) return text;
  return new TextDecoder('utf-8', { fatal: false }).decode(buffer.subarray(0, maxBytes)).replace(/\uFFFD$/, '');
}

/**
 * The ban facet over this node's ledger. A change is enforced here first (the ledger), then
 * handed to the shared backend, if any; the backend journals what it cannot deliver, so
 * `add`/`remove` never fail because Redis is down.
 */
export class Bans implements BanFacet {
  constructor(
    private readonly ledger: BanLedger,
    private readonly publish: () => ((change: BanChange) => Promise<void>) | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  private readonly hitCounts = new Map<string, number>();

  match(ip: string): Ban | undefined {
    const ban = this.ledger.table.match(ip);
    if (ban) this.hitCounts.set(ban.target, (this.hitCounts.get(ban.target) ?? 0) + 1);
    return ban;
  }

  hits(target: string): number {
    return this.hitCounts.get(target) ?? 0;
  }

  get(target: string): Ban | undefined {
    const canonical = canonicalTarget(target);
    if (canonical === undefined) return undefined;
    const ban = this.ledger.table.get(canonical);
    return ban && (ban.expiresAt === null || ban.expiresAt > this.now()) ? ban : undefined;
  }

  list(): Ban[] {
    return this.ledger.table.list();
  }

  onChange(listener: (change: BanChange) => void): () => void {
    return this.ledger.onChange(listener);
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
      node: this.ledger.nodeName,
      createdAt,
      expiresAt: request.durationMs > 0 ? createdAt + request.durationMs : null,
      evidence: truncateUtf8(request.evidence ?? '', MAX_EVIDENCE_BYTES),
      version: this.ledger.nextVersion(),
    };
    const change: BanChange = { op: 'ban', ban };
    this.ledger.apply(change);
    await this.publish()?.(change);
    return ban;
  }

  async remove(target: string, actor: string): Promise<boolean> {
    const canonical = canonicalTarget(target);
    if (canonical === undefined || this.get(canonical) === undefined) return false;
    const change: BanChange = {
      op: 'unban',
      tombstone: { target: canonical, version: this.ledger.nextVersion(), node: this.ledger.nodeName, actor, at: this.now() },
    };
    this.ledger.apply(change);
    this.hitCounts.delete(canonical);
    await this.publish()?.(change);
    return true;
  }
}
