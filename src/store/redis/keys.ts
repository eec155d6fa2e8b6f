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
 *   <prefix>:bans:digest                 hash expiry minute (or p) → XOR of target hashes (ban-digest.ts)
 *   <prefix>:lock:<name>                 lease (token), TTL = lease
 *   <prefix>:audit:trail                 zset of audit entries (JSON with ids) by time, ~AUDIT_LOG_LENGTH
 *   <prefix>:session:<id>                session (JSON), TTL = min(idle, absolute left)
 *   <prefix>:nodes                       zset node → last metrics push ms, TTL refreshed by pushes
 *   <prefix>:cluster:nodes               hash node → its last heartbeat report (JSON), pruned after 1 h, TTL 1 h
 *   <prefix>:metrics:<node>              hash of a node's counter totals, TTL 1 h
 *   <prefix>:<plugin>:<rule>:<client>:gcra (or :w)   a counter, with a TTL
 *
 * With Redis Cluster (`REDIS_CLUSTER=yes`) the keys a script or a multi-key command touches
 * together carry one hash tag, so they live in one slot (no CROSSSLOT can happen):
 *
 *   <prefix>:{bans}:ban:<target>, <prefix>:{bans}:bans:index, <prefix>:{bans}:unban:<target>,
 *   <prefix>:{bans}:unbans:index, <prefix>:{bans}:bans:stream, <prefix>:{bans}:bans:epoch,
 *   <prefix>:{bans}:bans:digest
 *                                        all ban state in one slot (scripts, MGET, the stream)
 *   <prefix>:<plugin>:<rule>:{<client>}:gcra (or :w)   a client's counters together; clients
 *                                        spread over the masters
 *   <prefix>:{probe:<node>}:probe:<node>:<kind>         the permission probe's keys together
 *
 * Every other key is used alone and keeps its name. Standalone and Sentinel keep the
 * untagged layout (nodes of earlier versions read it).
 */
export class RedisKeys {
  /** Where ban state keys start: the prefix, and the ban tag in a cluster. */
  private readonly bans: string;

  constructor(
    readonly prefix: string,
    /** True for Redis Cluster: tag keys that go together. */
    readonly cluster = false,
  ) {
    this.bans = cluster ? `${prefix}:{bans}:` : `${prefix}:`;
  }

  /** The heartbeat key of a node. */
  node(nodeName: string): string {
    return `${this.prefix}:node:${nodeName}`;
  }

  /** A throwaway key for the permission probe. */
  probe(nodeName: string, kind: string): string {
    return this.cluster ? `${this.prefix}:{probe:${nodeName}}:probe:${nodeName}:${kind}` : `${this.prefix}:probe:${nodeName}:${kind}`;
  }

  /**
   * GCRA state of the counter `path` (`<plugin>:<rule>:<client>`, see counter-keys.ts): the
   * TAT in microseconds. (`:r` held milliseconds; a new name, so nodes of both versions in
   * one cluster never read each other's unit.)
   */
  rate(path: string): string {
    return `${this.prefix}:${this.counter(path)}:gcra`;
  }

  /** Sliding-window hash of the counter `path`. */
  window(path: string): string {
    return `${this.prefix}:${this.counter(path)}:w`;
  }

  /** The ban record of `target` (canonical IP or CIDR). */
  ban(target: string): string {
    return `${this.bans}ban:${target}`;
  }

  /** Prefix of ban records, for scripts that build them from targets. */
  get banRecordPrefix(): string {
    return `${this.bans}ban:`;
  }

  get banIndex(): string {
    return `${this.bans}bans:index`;
  }

  tombstone(target: string): string {
    return `${this.bans}unban:${target}`;
  }

  get tombstoneIndex(): string {
    return `${this.bans}unbans:index`;
  }

  get banStream(): string {
    return `${this.bans}bans:stream`;
  }

  get banEpoch(): string {
    return `${this.bans}bans:epoch`;
  }

  /** Redis's digest of the ban index, kept by `ban_apply.lua`. */
  get banDigest(): string {
    return `${this.bans}bans:digest`;
  }

  /** Every node's last heartbeat report, for the cluster view. */
  get nodeReports(): string {
    return `${this.prefix}:cluster:nodes`;
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

  /** `<plugin>:<rule>:<client>`, the client tagged in a cluster (plugin and rule hold no `:`). */
  private counter(path: string): string {
    if (!this.cluster) return path;
    const second = path.indexOf(':', path.indexOf(':') + 1);
    return `${path.slice(0, second + 1)}{${path.slice(second + 1)}}`;
  }
}
