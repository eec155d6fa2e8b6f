/**
 * Every Redis key and stream name Palisade uses, built in this one module so the layout is
 * documented in one place and every key starts with `REDIS_KEY_PREFIX`:
 *
 *   <prefix>:node:<node>                 node heartbeat (JSON), TTL 3 × the beat interval
 *   <prefix>:probe:<node>:<kind>         permission probe at connect, deleted at once
 *   <prefix>:ban:<target>                ban record (JSON), no TTL: swept by expiry
 *   <prefix>:bans:index                  zset target → expiry ms (+inf permanent), no TTL
 *   <prefix>:unban:<target>              tombstone (JSON), TTL = tombstone lifetime
 *   <prefix>:unbans:index                zset target → tombstone expiry ms
 *   <prefix>:bans:stream                 stream of ban changes, MAXLEN ~ REDIS_BAN_STREAM_LENGTH
 *   <prefix>:bans:epoch                  random marker; gone or changed = Redis lost state
 *   <prefix>:lock:<name>                 lease (token), TTL = lease
 *   <prefix>:audit:trail                 zset of audit entries (JSON with ids) by time, ~AUDIT_LOG_LENGTH
 *   <prefix>:session:<id>                session (JSON), TTL = min(idle, absolute left)
 *   <prefix>:nodes                       zset node → last heartbeat ms, TTL refreshed by beats
 *   <prefix>:metrics:<node>              hash of a node's counter totals, TTL 1 h
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** The heartbeat key of a node. */
  node(nodeName: string): string {
    return `${this.prefix}:node:${nodeName}`;
  }

  /** A throwaway key for the permission probe. */
  probe(nodeName: string, kind: string): string {
    return `${this.prefix}:probe:${nodeName}:${kind}`;
  }

  /**
   * GCRA state of the counter `path` (`<plugin>:<rule>:<client>`, see counter-keys.ts): the
   * TAT in microseconds. (`:r` held milliseconds; a new name, so nodes of both versions in
   * one cluster never read each other's unit.)
   */
  rate(path: string): string {
    return `${this.prefix}:${path}:gcra`;
  }

  /** Sliding-window hash of the counter `path`. */
  window(path: string): string {
    return `${this.prefix}:${path}:w`;
  }

  /** The record of the ban on `target` (canonical IP or CIDR). */
  ban(target: string): string {
    return `${this.prefix}:ban:${target}`;
  }

  /** Prefix of ban records, for scripts that build them from targets. */
  get banRecordPrefix(): string {
    return `${this.prefix}:ban:`;
  }

  get banIndex(): string {
    return `${this.prefix}:bans:index`;
  }

  tombstone(target: string): string {
    return `${this.prefix}:unban:${target}`;
  }

  get tombstoneIndex(): string {
    return `${this.prefix}:unbans:index`;
  }

  get banStream(): string {
    return `${this.prefix}:bans:stream`;
  }

  get banEpoch(): string {
    return `${this.prefix}:bans:epoch`;
  }

  session(id: string): string {
    return `${this.prefix}:session:${id}`;
  }

  get nodes(): string {
    return `${this.prefix}:nodes`;
  }

  metrics(nodeName: string): string {
    return `${this.prefix}:metrics:${nodeName}`;
  }

  /** The audit trail. (`<prefix>:audit`, a stream, held it before entries had ids.) */
  get audit(): string {
    return `${this.prefix}:audit:trail`;
  }

  lock(name: string): string {
    return `${this.prefix}:lock:${name}`;
  }

  /** The pattern an ACL must allow (`~<prefix>:*`). */
  get aclPattern(): string {
    return `${this.prefix}:*`;
  }
}
