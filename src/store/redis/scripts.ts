import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisClient } from './clients.js';
import { packageRoot } from '../../paths.js';

/**
 * The Lua scripts, by command name: file under src/store/redis/scripts, its key count
 * (undefined: the caller passes the count first) and the files put in front of it (Lua
 * scripts cannot import: a function two scripts need is written once and prepended).
 */
export const SCRIPTS: Record<string, { file: string; keys: number | undefined; prelude?: readonly string[] }> = {
  palisadeGcra: { file: 'gcra.lua', keys: undefined, prelude: ['gcra_core.lua'] },
  palisadeGcraLocal: { file: 'gcra_local.lua', keys: undefined, prelude: ['gcra_core.lua'] },
  palisadeWindowCount: { file: 'window_count.lua', keys: 1 },
  palisadeGcraCharge: { file: 'gcra_charge.lua', keys: 1 },
  palisadeGcraPeek: { file: 'gcra_peek.lua', keys: 1 },
  palisadeSessionGet: { file: 'session_get.lua', keys: 1 },
  palisadeBanApply: { file: 'ban_apply.lua', keys: 6, prelude: ['fnv.lua'] },
  palisadeBanSweep: { file: 'ban_sweep.lua', keys: 3 },
  palisadeBanDigestRebuild: { file: 'ban_digest_rebuild.lua', keys: 2, prelude: ['fnv.lua'] },
  palisadeBanDigestRead: { file: 'ban_digest_read.lua', keys: 2 },
  palisadeLockAcquire: { file: 'lock_acquire.lua', keys: 1 },
  palisadeLockRelease: { file: 'lock_release.lua', keys: 1 },
  palisadeAuditAppend: { file: 'audit_append.lua', keys: 1 },
  palisadeBanMissing: { file: 'ban_missing.lua', keys: undefined },
};

/** A client with Palisade's scripts defined as commands. */
export type ScriptedRedis = RedisClient & {
  /** `numKeys, key_1 … key_n, sites, k, period_1, limit_1, returned_1 … [kind of key_1 …]`: one answer per key (see gcra_core.lua). */
  palisadeGcra(numKeys: number, ...keysThenArgs: Array<string | number>): Promise<number[]>;
  /**
   * `numKeys, the buckets of one slot, m, m buckets of other slots of the same master, sites, k,
   * period_1, limit_1, returned_1 … [kind of each bucket …]`: one answer per bucket, null for an
   * undeclared bucket that server does not hold (see gcra_local.lua).
   */
  palisadeGcraLocal(numKeys: number, ...keysThenArgs: Array<string | number>): Promise<Array<number | null>>;
  palisadeWindowCount(key: string, windowMs: number, by: number): Promise<number>;
  palisadeGcraCharge(key: string, periodMs: number, debtMs: number): Promise<number>;
  palisadeGcraPeek(key: string): Promise<[number, number]>;
  palisadeSessionGet(key: string, touchIdleMs: number): Promise<string | null>;
  palisadeBanApply(...args: Array<string | number>): Promise<number>;
  palisadeBanSweep(banIndex: string, tombstoneIndex: string, digest: string, recordPrefix: string, batch: number): Promise<string[]>;
  /** Rebuilds the digest from the index (a complete one only when `force` is 1) when it holds at most `limit` bans: their number, or -1 when it holds more. */
  palisadeBanDigestRebuild(banIndex: string, digest: string, limit: number, force: 0 | 1): Promise<number>;
  /** `[complete (1/0), the digest from bucket `from` on, the stream's last id]`. */
  palisadeBanDigestRead(digest: string, stream: string, from: number): Promise<[number, number, string]>;
  palisadeLockAcquire(key: string, token: string, leaseMs: number): Promise<number>;
  palisadeLockRelease(key: string, token: string): Promise<number>;
  palisadeAuditAppend(trail: string, length: number, ...scoresAndEntries: Array<string | number>): Promise<number>;
  /**
   * `numKeys, record_1 … record_n, ban index, tombstone index, kind+target_1 …` (`b…` or `t…`):
   * the 1-based positions of the records that do not exist or lack their index entry.
   */
  palisadeBanMissing(numKeys: number, ...keysThenTargets: string[]): Promise<number[]>;
};

let sources: Map<string, { lua: string; keys: number | undefined }> | undefined;

function readScript(file: string): string {
  return readFileSync(join(packageRoot, 'src/store/redis/scripts', file), 'utf8');
}

/** Reads every script once per process. */
function load(): Map<string, { lua: string; keys: number | undefined }> {
  sources ??= new Map(Object.entries(SCRIPTS).map(([name, s]) => [name, { lua: [...(s.prelude ?? []), s.file].map(readScript).join('\n'), keys: s.keys }]));
  return sources;
}

/**
 * Defines every script on `client`. ioredis then sends EVALSHA and, on NOSCRIPT (a new
 * master after failover, a restarted or flushed Redis), EVAL with the source, which
 * caches it again — so scripts survive failovers without a reload step.
 */
export function defineScripts(client: RedisClient): ScriptedRedis {
  for (const [name, { lua, keys }] of load()) {
    if (!(name in client)) client.defineCommand(name, keys === undefined ? { lua } : { lua, numberOfKeys: keys });
  }
  return client as ScriptedRedis;
}
