/**
 * Every Redis key and stream name Palisade uses, built in this one module so the layout is
 * documented in one place and every key starts with `REDIS_KEY_PREFIX`:
 *
 *   <prefix>:node:<node>                 node heartbeat (JSON), TTL 3 × the beat interval
 *   <prefix>:probe:<node>:<kind>         permission probe at connect, deleted at once
 *   <prefix>:<plugin>:<rule>:<client>    counters (issue "cluster store"), always with a TTL
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

  /** The pattern an ACL must allow (`~<prefix>:*`). */
  get aclPattern(): string {
    return `${this.prefix}:*`;
  }
}
