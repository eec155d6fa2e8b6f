/** One entry of the audit trail: who did what to which address, when and why. */
export interface AuditEntry {
  /** Epoch ms. */
  at: number;
  /** The person or token (X-Actor), or the plugin that acted. */
  actor: string;
  node: string;
  action: 'ban' | 'unban' | 'import' | 'expire';
  /** IP or CIDR (absent for a whole import). */
  target?: string;
  reason?: string;
  /** Short extra facts (an import's counts, a ban's duration). */
  detail?: string;
}

/** The audit trail, newest first; shared through Redis when the cluster is. */
export interface AuditFacet {
  record(entry: AuditEntry): Promise<void>;
  /** Up to `limit` entries, newest first. */
  list(limit: number): Promise<AuditEntry[]>;
}

/** A remote trail (a capped Redis Stream); calls may throw. */
export interface RemoteAudit {
  append(entry: AuditEntry): Promise<void>;
  read(limit: number): Promise<AuditEntry[]>;
}

/**
 * The audit facet: a capped stream in Redis when shared, a ring buffer of the same length on
 * this node otherwise (and while Redis fails: entries recorded meanwhile stay local).
 */
export class Audit implements AuditFacet {
  private readonly ring: AuditEntry[] = [];

  constructor(
    private readonly remote: () => RemoteAudit | undefined,
    private readonly capacity: number,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    this.ring.push(entry);
    if (this.ring.length > this.capacity) this.ring.shift();
    await this.remote()?.append(entry).catch(() => undefined);
  }

  async list(limit: number): Promise<AuditEntry[]> {
    const remote = this.remote();
    if (remote) {
      try {
        return await remote.read(limit);
      } catch {
        // degraded: this node's own entries
      }
    }
    return this.ring.slice(-limit).reverse();
  }
}
