import type { RedisConnections } from './connections.js';
import type { RedisKeys } from './keys.js';
import type { RemoteSessions } from '../shared-backend.js';
import type { SessionRecord } from '../types.js';

/** Sessions in Redis through the request-path pool; one round trip per call. */
export class RedisSessions implements RemoteSessions {
  constructor(
    private readonly connections: RedisConnections,
    private readonly keys: RedisKeys,
  ) {}

  async get(id: string, touchIdleMs: number | undefined): Promise<SessionRecord | undefined> {
    const raw = await this.connections.run((client) => client.palisadeSessionGet(this.keys.session(id), touchIdleMs ?? 0));
    return raw === null ? undefined : (JSON.parse(raw) as SessionRecord);
  }

  async set(id: string, record: SessionRecord, ttlMs: number): Promise<void> {
    await this.connections.run((client) => client.set(this.keys.session(id), JSON.stringify(record), 'PX', Math.ceil(ttlMs)));
  }

  async destroy(id: string): Promise<void> {
    // A delete is taken even by a Redis out of memory: a sign-out must reach every node.
    await this.connections.run((client) => client.del(this.keys.session(id)), { evenIfRefusing: true });
  }
}
