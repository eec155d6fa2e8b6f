import { CidrSet, isLoopback, parseCidr } from '../net/ip.js';
import { parseDuration } from '../settings/duration.js';
import { canonicalTarget } from '../store/ban-table.js';

/** A ban request after validation. */
export interface ValidBan {
  target: string;
  durationMs: number;
  reason: string;
}

/** Why a request cannot become a ban: malformed (400) or a protected address (422). */
export type BanRefusal = { code: 'PAL_BAN_INVALID' | 'PAL_BAN_PROTECTED'; message: string };

const FIELDS = new Set(['ip', 'duration', 'reason', 'expires']);
const LOOPBACK = CidrSet.from(['127.0.0.0/8', '::1/128']);

/** What decides whether an address may be banned by hand. */
export interface BanPolicyOptions {
  minPrefixV4: number;
  minPrefixV6: number;
  /** True when the address or network holds a trusted proxy (`REAL_IP_FROM`). */
  holdsTrustedProxy: (target: string) => boolean;
  /** The plugin protecting a target (whitelist), if any. */
  protector: (target: string) => string | undefined;
  now?: () => number;
}

/**
 * Validates manual bans (admin API, CLI, imports): the target, a network no wider than
 * allowed, the duration (`1h`, `0` = permanent, bare seconds) or an absolute `expires`,
 * a reason, no unknown field — and refuses loopback, trusted proxies and whitelisted
 * addresses, whose ban would lock out the infrastructure or contradict the whitelist.
 */
export class BanPolicy {
  constructor(private options: BanPolicyOptions) {}

  /** New rules from a reload (the settings they come from changed). */
  update(options: BanPolicyOptions): void {
    this.options = options;
  }

  check(input: unknown): ValidBan | BanRefusal {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return invalid('expected an object with ip, duration and reason');
    const record = input as Record<string, unknown>;
    const unknown = Object.keys(record).filter((key) => !FIELDS.has(key));
    if (unknown.length > 0) return invalid(`unknown field(s): ${unknown.join(', ')}`);
    if (typeof record.ip !== 'string' || record.ip.length > 64) return invalid('ip must be an IP address or a CIDR');
    const target = canonicalTarget(record.ip.trim());
    if (target === undefined) return invalid(`not an IP address or CIDR: ${JSON.stringify(record.ip.slice(0, 64))}`);
    if (target.includes('/')) {
      const cidr = parseCidr(target)!;
      const min = cidr.family === 'ipv4' ? this.options.minPrefixV4 : this.options.minPrefixV6;
      if (cidr.bits < min) return invalid(`network ${target} is wider than /${min} (BAN_MIN_PREFIX_${cidr.family === 'ipv4' ? 'IPV4' : 'IPV6'})`);
    }
    if (typeof record.reason !== 'string' || record.reason.trim() === '' || record.reason.length > 200) return invalid('reason must be 1 to 200 characters');
    const durationMs = this.duration(record);
    if (typeof durationMs === 'string') return invalid(durationMs);
    const refusal = this.protection(target);
    if (refusal) return { code: 'PAL_BAN_PROTECTED', message: refusal };
    return { target, durationMs, reason: record.reason.trim() };
  }

  private duration(record: Record<string, unknown>): number | string {
    if (record.expires !== undefined && record.expires !== null && record.expires !== '') {
      const at = typeof record.expires === 'string' ? Date.parse(record.expires) : Number.NaN;
      const left = at - (this.options.now ?? Date.now)();
      return Number.isFinite(at) ? (left > 0 ? left : 'expires is in the past') : 'expires must be an ISO date like 2030-01-01T00:00:00Z';
    }
    const text = record.duration === undefined ? undefined : String(record.duration);
    if (text === undefined || text === '') return 'duration is required (like 1h, 7d, or 0 for permanent)';
    if (text === '0') return 0;
    const ms = parseDuration(text);
    return ms === undefined || ms <= 0 ? `duration must look like 30m, 1h, 7d, or 0 for permanent (got ${JSON.stringify(text.slice(0, 32))})` : ms;
  }

  private protection(target: string): string | undefined {
    const loopback = target.includes('/') ? LOOPBACK.overlaps(target) : isLoopback(target);
    if (loopback) return `${target} is a loopback address: banning it would lock out the node itself`;
    if (this.options.holdsTrustedProxy(target)) return `${target} holds a trusted proxy (REAL_IP_FROM): banning it would block every client behind it`;
    const plugin = this.options.protector(target);
    if (plugin) return `${target} is protected by the ${plugin} plugin`;
    return undefined;
  }
}

function invalid(message: string): BanRefusal {
  return { code: 'PAL_BAN_INVALID', message };
}

export function isRefusal(value: ValidBan | BanRefusal): value is BanRefusal {
  return 'code' in value;
}
