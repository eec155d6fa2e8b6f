import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { canonicalIp } from '../net/ip.js';

/** What a counter counts: a rule of a plugin, for one client. */
export interface CounterKey {
  /** Plugin id, e.g. `limit`. */
  plugin: string;
  /** Rule within the plugin, e.g. `0` or `status`. */
  rule: string;
  /** An IP (IPv6 is bucketed at /64), or free-form text (hashed to a fixed length). */
  client: string;
}

const LABEL = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/**
 * The stable client part of a counter key: IPv4 as is, IPv6 as its /64 (one subscriber
 * holds a whole /64), anything else as 32 hex characters of SHA-256, so attacker-chosen
 * paths or user agents cannot make long or odd keys.
 */
export function counterClient(client: string): string {
  const ip = canonicalIp(client);
  if (ip === undefined) return `h${createHash('sha256').update(client).digest('hex').slice(0, 32)}`;
  if (!ip.includes(':')) return ip;
  const bytes = ipaddr
    .parse(ip)
    .toByteArray()
    .map((byte, i) => (i < 8 ? byte : 0));
  return `${ipaddr.fromByteArray(bytes).toString()}/64`;
}

/** `<plugin>:<rule>:<client>`; throws on a plugin or rule name that is not a short label. */
export function counterPath(key: CounterKey): string {
  if (!LABEL.test(key.plugin) || !LABEL.test(key.rule)) {
    throw new TypeError(`counter plugin and rule must be short labels ([a-z0-9_-], ≤ 32): ${key.plugin}:${key.rule}`);
  }
  return `${key.plugin}:${key.rule}:${counterClient(key.client)}`;
}
