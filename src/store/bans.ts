import { PalisadeError } from '../errors.js';
import type { Audit } from './audit.js';
import type { BanLedger } from './ban-ledger.js';
import { isRefusal } from './ban-policy.js';
import { canonicalTarget } from '../net/ip.js';
import type { Ban, BanChange, BanRecords, BanRequest, ShareOptions } from './types.js';

/** Longest evidence kept with a ban, in bytes of UTF-8 (it is attacker-controlled). */
export const MAX_EVIDENCE_BYTES = 4096;

/** Cuts `text` to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const buffer = Buffer.from(text, 'utf8');
  if (buffer.length <= maxBytes) return text;
  return new TextDecoder('utf-8', { fatal: false }).decode(buffer.subarray(0, maxBytes)).replace(/\uFFFD$/, '');
}

/** How a change made on this node reaches the other nodes (the shared backend). */
export interface BanPublisher {
  /** Resolves true once the change is in the shared state, false when it waits in a journal. Never throws. */
  publish(change: BanChange): Promise<boolean>;
  /** True while a change to `target` made on this node waits for the shared state. */
  isPending(target: string): boolean;
}

/**
 * The ban facet over this node's ledger, and the one writer of the audit trail. A change is
 * enforced here first (the ledger), recorded in the audit, then handed to the shared
 * backend, if any; the backend journals what it cannot deliver, so `add`/`remove` never
 * fail because Redis is down, and they wait for it at most `budgetMs` (then the change is
 * pending: enforced here, delivered when Redis answers).
 */
export class Bans implements BanRecords {
  constructor(
    private readonly ledger: BanLedger,
    private readonly publisher: () => BanPublisher | undefined,
    private readonly audit: Audit,
    private readonly now: () => number = Date.now,
    private readonly budgetMs = 1_000,
  ) {}

  private readonly hitCounts = new Map<string, number>();

  match(ip: string): Ban | undefined {
    const ban = this.ledger.table.match(ip);
    if (ban) this.hitCounts.set(ban.target, (this.hitCounts.get(ban.target) ?? 0) + 1);
    return ban;
  }

  covering(ip: string): Ban[] {
    return this.ledger.table.covering(ip);
  }

  tally(): { total: number; byOrigin: Map<string, number>; byReason: Map<string, number> } {
    return this.ledger.table.tally();
  }

  hits(target: string): number {
    return this.hitCounts.get(target) ?? 0;
  }

  /** Adds hits a worker counted on the ban on `target` (while it is still there). */
  addHits(target: string, count: number): void {
    if (this.ledger.table.get(target) !== undefined) this.hitCounts.set(target, (this.hitCounts.get(target) ?? 0) + count);
  }

  count(): number {
    return this.ledger.table.size;
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

  /** Every active ban as `[target, expiry]`, walked without building records (a worker's load). */
  entries(): Iterator<readonly [string, number | null]> {
    return this.ledger.table.entries();
  }

  pending(target: string): boolean {
    return this.publisher()?.isPending(target) ?? false;
  }

  onChange(listener: (change: BanChange) => void): () => void {
    return this.ledger.onChange(listener);
  }

  /**
   * Makes a ban on this node, once the node's ban policy admits it (whatever asks: the API,
   * a list, a plugin); a refusal throws a {@link PalisadeError} with the policy's code and
   * message, and is counted under the request's origin.
   */
  async add(request: BanRequest, options: ShareOptions = {}): Promise<Ban> {
    const admitted = this.ledger.policy.admit(request.target, request.durationMs, request.origin);
    if (isRefusal(admitted)) throw new PalisadeError(admitted.code, admitted.message);
    const target = admitted.target;
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
    const previous = this.get(target);
    this.ledger.own(change);
    // A renewal (same origin, same reason: a list downloaded again) is not a decision worth
    // an entry: tens of thousands of them would push people's actions out of the trail.
    const renewal = previous !== undefined && previous.origin === ban.origin && previous.reason === ban.reason && previous.actor === ban.actor;
    if (!renewal)
      this.audit.record({
        at: createdAt,
        actor: ban.actor,
        node: ban.node,
        action: ban.origin === 'import' ? 'import' : 'ban',
        target,
        reason: ban.reason,
        origin: ban.origin,
        detail: `${ban.expiresAt === null ? 'permanent' : `until ${new Date(ban.expiresAt).toISOString()}`}${request.summary ? `; ${request.summary.slice(0, 200)}` : ''}`,
      });
    await this.share(change, options);
    return ban;
  }

  async remove(target: string, actor: string, options: ShareOptions = {}): Promise<boolean> {
    const canonical = canonicalTarget(target);
    const ban = canonical === undefined ? undefined : this.get(canonical);
    if (canonical === undefined || ban === undefined) return false;
    const at = this.now();
    const change: BanChange = {
      op: 'unban',
      tombstone: { target: canonical, version: this.ledger.nextVersion(), node: this.ledger.nodeName, actor, at },
    };
    this.ledger.own(change);
    this.hitCounts.delete(canonical);
    this.audit.record({ at, actor, node: this.ledger.nodeName, action: 'unban', target: canonical, reason: ban.reason, origin: ban.origin });
    await this.share(change, options);
    return true;
  }

  /** Records bans that ran out (the sweep that removed them decides; recorded once per cluster). */
  expired(bans: ReadonlyArray<{ target: string; reason?: string; origin?: string }>): void {
    const at = this.now();
    for (const ban of bans) {
      this.audit.record({
        at,
        actor: 'system',
        node: this.ledger.nodeName,
        action: 'expire',
        target: ban.target,
        ...(ban.reason ? { reason: ban.reason } : {}),
        ...(ban.origin ? { origin: ban.origin } : {}),
      });
    }
  }

  /** Hands a change to the shared backend, waiting at most the budget (or `waitMs`). */
  private async share(change: BanChange, options: ShareOptions): Promise<void> {
    const publisher = this.publisher();
    if (!publisher) return;
    const delivered = publisher.publish(change);
    const waitMs = Math.min(this.budgetMs, Math.max(0, options.waitMs ?? this.budgetMs));
    if (waitMs === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([delivered, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }
}
