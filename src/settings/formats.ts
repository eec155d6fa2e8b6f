import { isIP } from 'node:net';
import { parseCidr } from '../net/ip.js';
import { ROLE_GRANT } from './credentials.js';

/** A string format a setting may declare, with the check and the message shown when it fails. */
interface Format {
  validate(value: string): boolean;
  message: string;
}

/** Parses `host:port` / `[v6]:port`; undefined when malformed. */
export function parseListenAddress(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return undefined;
  if (match[1] !== undefined ? isIP(host) !== 6 : !(isIP(host) === 4 || host === 'localhost')) return undefined;
  return { host, port };
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** True for an IP address or a DNS hostname. */
export function isHostnameOrIp(text: string): boolean {
  return isIP(text) !== 0 || HOSTNAME.test(text);
}

/**
 * Parses `host`, `host:port`, `[v6]:port` or a bare IPv6 address; `defaultPort` when no port
 * is given. Undefined when malformed.
 */
export function parseHostPort(text: string, defaultPort: number): { host: string; port: number } | undefined {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const match = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(text);
    if (!match || isIP(match[1] as string) !== 6) return undefined;
    host = match[1] as string;
    portText = match[2];
  } else if (isIP(text) === 6) {
    host = text;
  } else {
    const colon = text.lastIndexOf(':');
    host = colon === -1 ? text : text.slice(0, colon);
    portText = colon === -1 ? undefined : text.slice(colon + 1);
    if (!isHostnameOrIp(host) || isIP(host) === 6) return undefined;
  }
  if (portText !== undefined && !/^\d{1,5}$/.test(portText)) return undefined;
  const port = portText === undefined ? defaultPort : Number(portText);
  return port >= 1 && port <= 65535 ? { host, port } : undefined;
}

const RATE_PERIOD_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses `10r/s` (or `/m`, `/h`, `/d`) into a limit and a period; undefined when malformed. */
export function parseRate(text: string): { limit: number; periodMs: number } | undefined {
  const match = /^(\d{1,9})r\/([smhd])$/.exec(text);
  if (!match || Number(match[1]) < 1) return undefined;
  return { limit: Number(match[1]), periodMs: RATE_PERIOD_MS[match[2] as keyof typeof RATE_PERIOD_MS] };
}

/** Most workers a node may run. */
export const MAX_WORKERS = 256;

/** `auto` or a number from 0 to {@link MAX_WORKERS}; undefined when malformed. */
export function parseWorkerCount(text: string): number | 'auto' | undefined {
  if (text === 'auto') return 'auto';
  if (!/^\d{1,3}$/.test(text)) return undefined;
  const count = Number(text);
  return count <= MAX_WORKERS ? count : undefined;
}

/** The formats settings can use, registered with ajv and documented by their messages. */
export const formats: Record<string, Format> = {
  ip: { validate: (v) => isIP(v) !== 0, message: 'must be an IP address like 0.0.0.0 or ::' },
  cidr: {
    validate: (v) => parseCidr(v) !== undefined,
    message: 'must be an IP or a CIDR like 10.0.0.0/8 or 2001:db8::/32',
  },
  'listen-address': {
    validate: (v) => parseListenAddress(v) !== undefined,
    message: 'must be host:port with an IP host, like 127.0.0.1:9901 or [::1]:9901',
  },
  'http-url': {
    validate: (v) => {
      if (v === '') return true;
      try {
        const url = new URL(v);
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.username === '';
      } catch {
        return false;
      }
    },
    message: 'must be an http:// or https:// URL like http://10.0.0.5:8000, without credentials',
  },
  'hostname-or-ip': {
    validate: (v) => v === '' || isHostnameOrIp(v),
    message: 'must be a hostname or an IP address, like redis.internal or 10.0.0.7',
  },
  'redis-address': {
    validate: (v) => parseHostPort(v, 6379) !== undefined,
    message: 'must be host[:port] with a port from 1 to 65535, like 10.0.0.7:6379 or [::1]:6379',
  },
  'sentinel-address': {
    validate: (v) => parseHostPort(v, 26379) !== undefined,
    message: 'must be host[:port] with a port from 1 to 65535, like 10.0.0.7:26379 or [::1]:26379',
  },
  rate: {
    validate: (v) => parseRate(v) !== undefined,
    message: 'must look like 10r/s (requests per s, m, h or d)',
  },
  regex: {
    validate: (v) => {
      try {
        new RegExp(v);
        return true;
      } catch {
        return false;
      }
    },
    message: 'must be a valid regular expression',
  },
  'worker-count': {
    validate: (v) => parseWorkerCount(v) !== undefined,
    message: `must be auto or a number from 0 to ${MAX_WORKERS}`,
  },
  'role-grant': {
    validate: (v) => ROLE_GRANT.test(v),
    message: 'must be user=role, group:name=role or *=role, with role viewer or operator',
  },
  'header-name': {
    validate: (v) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v),
    message: 'must be an HTTP header name like X-Forwarded-For',
  },
};

/** The formats' checks alone, by name: what the precompiled validator calls (validator.generated.ts). */
export const formatValidators: Record<string, (value: string) => boolean> = Object.fromEntries(
  Object.entries(formats).map(([name, format]) => [name, format.validate]),
);
