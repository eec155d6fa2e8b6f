import type { ScriptedRedis } from './scripts.js';
import type { RedisKeys } from './keys.js';
import type { RemoteLocks } from '../shared-backend.js';

/**
 * Leases in Redis (`SET NX PX`, released by compare-and-delete) on the background
 * connection: jobs one node runs are never on the request path. Without a ready connection a
 * lease is not granted (two nodes never both believe they hold it).
 */
export class RedisLocks implements RemoteLocks {
  constructor(
    private readonly background: ScriptedRedis,
    private readonly keys: RedisKeys,
  ) {}

  async acquire(name: string, token: string, ttlMs: number): Promise<boolean> {
    if (this.background.status !== 'ready') return false;
    return (await this.background.palisadeLockAcquire(this.keys.lock(name), token, ttlMs)) === 1;
  }

  async release(name: string, token: string): Promise<void> {
    if (this.background.status === 'ready') await this.background.palisadeLockRelease(this.keys.lock(name), token);
  }
}
