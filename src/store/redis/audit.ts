import type { RedisConnections } from './connections.js';
import type { RedisKeys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';
import type { AuditEntry } from '../types.js';
import type { RemoteAudit } from '../shared-backend.js';

/**
 * The audit trail in Redis: a sorted set scored by time whose members are the entries as
 * JSON (ids make a re-asserted entry the same member), kept near `length` entries, read
 * newest first. Background connection: an audit write never competes with the request path.
 */
export class RedisAudit implements RemoteAudit {
  constructor(
    private readonly connections: RedisConnections,
    private readonly keys: RedisKeys,
    private readonly length: number,
  ) {}

  async append(entries: readonly AuditEntry[]): Promise<void> {
    const client = this.client();
    const args: Array<string | number> = [];
    // Scores apart even for entries of one millisecond (the expiries of one sweep), so that
    // trimming at a score never takes more than the few entries sharing it.
    entries.forEach((entry, i) => args.push(entry.at * 1_000 + (i % 1_000), JSON.stringify(entry)));
    try {
      await client.palisadeAuditAppend(this.keys.audit, this.length, ...args);
      this.connections.writeAccepted('audit');
    } catch (error) {
      this.connections.writeFailed('audit', error as Error);
      throw error;
    }
  }

  async read(limit: number): Promise<AuditEntry[]> {
    const members = await this.client().zrange(this.keys.audit, '0', String(limit - 1), 'REV');
    return members.flatMap((member) => {
      try {
        return [JSON.parse(member) as AuditEntry];
      } catch {
        return [];
      }
    });
  }

  private client(): ScriptedRedis {
    const client = this.connections.dedicatedClient('background') as ScriptedRedis;
    if (client.status !== 'ready') throw new Error('redis not ready');
    return client;
  }
}
