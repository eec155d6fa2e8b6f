import type { AuditEntry, RemoteAudit } from '../audit.js';
import type { RedisConnections } from './connections.js';
import type { RedisKeys } from './keys.js';

/** The audit trail as a capped Redis Stream (`XADD … MAXLEN ~ N`), read newest first. */
export class RedisAudit implements RemoteAudit {
  constructor(
    private readonly connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly length: number,
  ) {}

  async append(entry: AuditEntry): Promise<void> {
    const client = this.connections.dedicatedClient('background');
    if (client.status !== 'ready') throw new Error('redis not ready');
    await client.xadd(this.keys.audit, 'MAXLEN', '~', String(this.length), '*', 'e', JSON.stringify(entry));
  }

  async read(limit: number): Promise<AuditEntry[]> {
    const client = this.connections.dedicatedClient('background');
    if (client.status !== 'ready') throw new Error('redis not ready');
    const entries = await client.xrevrange(this.keys.audit, '+', '-', 'COUNT', limit);
    return entries.flatMap(([, fields]) => {
      try {
        return [JSON.parse(fields[1] ?? '') as AuditEntry];
      } catch {
        return [];
      }
    });
  }
}
