import { CidrSet, canonicalTarget, isLoopback, parseCidr } from '../net/ip.js';
import { parseDuration } from '../settings/duration.js';
import { showableTime } from '../time.js';
import type { Ban, BanChange, Tombstone } from './types.js';

/** The longest ban with an end: 100 years. Longer is what a permanent ban (`0`) is for. */
export const MAX_BAN_MS = 36_500 * 86_400_000;
/** Longest reason kept; evidence and names are bounded too (attacker-controlled or not, every surface shows them). */
const MAX_REASON = 200;
const MAX_NAME = 200;
const MAX_EVIDENCE = 4_096;

/**
 * Where a ban comes from: the admin API, an import, a plugin's own decision (its id:
 * `blacklist` for downloaded lists, `bad-behavior`, …), this node's snapshot, or Redis (a
 * stream entry or a resync). Every source goes through the same {@link BanPolicy}.
 */
export type BanSource = string;

/** Why a ban is refused (the `reason` label of `palisade_bans_refused_total`). */
export type RefusalReason = 'invalid' | 'too_wide' | 'too_long' | 'loopback' | 'trusted_proxy' | 'protected';

/** A ban refused: malformed (`PAL_BAN_INVALID`, 400) or covering an address that must never be banned (`PAL_BAN_PROTECTED`, 422). */
export interface BanRefusal {
  code: 'PAL_BAN_INVALID' | 'PAL_BAN_PROTECTED';
  reason: RefusalReason;
  message: string;
}

/** A ban request of the admin API or an import row, after validation. */
export interface ValidBan {
  target: string;
  durationMs: number;
  reason: string;
}

/** What decides whether an address may be banned (from the settings in force). */
export interface BanPolicyOptions {
  minPrefixV4: number;
  minPrefixV6: number;
  /** True when the address or network holds a trusted proxy (`REAL_IP_FROM`). */
  holdsTrustedProxy: (target: string) => boolean;
  /** The plugin protecting a target (whitelist), if any. */
  protector: (target: string) => string | undefined;
  now?: () => number;
}

const FIELDS = new Set(['ip', 'duration', 'reason', 'expires']);
const LOOPBACK = CidrSet.from(['127.0.0.0/8', '::1/128']);
/** Until the node's settings are in: the core defaults, nothing trusted, nothing protected. */
const DEFAULTS: BanPolicyOptions = { minPrefixV4: 16, minPrefixV6: 32, holdsTrustedProxy: () => false, protector: () => undefined };

/**
 * The one ban policy of a node: every ban, whatever its source — the admin API and imports,
 * downloaded lists, plugins, this node's snapshot, Redis (stream and resync) — is admitted
 * here before it is enforced, or refused and counted by source and reason. It refuses a
 * target that is not an IP or CIDR, a network wider than `BAN_MIN_PREFIX_*`, an end past
 * {@link MAX_BAN_MS} (or a date no surface can show), and bans covering loopback, a trusted
 * proxy (`REAL_IP_FROM`) or a whitelisted address: their ban would lock out the node or the
 * infrastructure in front of it, or contradict the whitelist.
 */
export class BanPolicy {
  private readonly listeners = new Set<(source: BanSource, refusal: BanRefusal, target: string) => void>();

  constructor(private options: BanPolicyOptions = DEFAULTS) {}

  /** New rules from the settings (at start, and on a reload). */
  update(options: BanPolicyOptions): void {
    this.options = options;
  }

  /** Calls `listener` for every refusal (metrics, logs). */
  onRefused(listener: (source: BanSource, refusal: BanRefusal, target: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A ban request of the admin API or an import row: `ip`, `duration` (`1h`, `0` =
   * permanent, bare seconds) or an absolute `expires`, a `reason`, no unknown field — then
   * {@link admit}.
   */
  check(input: unknown, source: BanSource): ValidBan | BanRefusal {
    const refused = this.shape(input);
    if ('code' in refused) return this.refuse(source, refused, String((input as { ip?: unknown } | null)?.ip ?? ''));
    const admitted = this.admit(refused.target, refused.durationMs, source);
    return 'code' in admitted ? admitted : { ...refused, target: admitted.target };
  }

  /**
   * Any ban about to be made on this node (the API, an import, a list, a plugin): the target
   * canonical, the network no wider than allowed, the duration (ms, 0 = permanent) within
   * {@link MAX_BAN_MS}, nothing protected. Refusals are counted under `source`.
   */
  admit(target: string, durationMs: number, source: BanSource): { target: string } | BanRefusal {
    const canonical = typeof target === 'string' && target.length <= 64 ? canonicalTarget(target.trim()) : undefined;
    if (canonical === undefined)
      return this.refuse(source, invalid('invalid', `not an IP address or CIDR: ${JSON.stringify(String(target).slice(0, 64))}`), String(target));
    if (!Number.isFinite(durationMs) || durationMs < 0)
      return this.refuse(source, invalid('invalid', 'duration must be positive, or 0 for permanent'), canonical);
    if (durationMs > MAX_BAN_MS)
      return this.refuse(source, invalid('too_long', 'duration longer than 100 years (36500d): use 0 for a permanent ban'), canonical);
    const refusal = this.targetRefusal(canonical);
    return refusal ? this.refuse(source, refusal, canonical) : { target: canonical };
  }

  /**
   * A change that arrives whole — from this node's snapshot or from Redis — checked as an
   * import row would be: every field typed and bounded, dates every surface can show, the
   * target admitted. A tombstone needs only a well-formed target and version (lifting is
   * never dangerous). Returns the change as it may be applied, or the refusal (counted).
   */
  record(change: unknown, source: BanSource): BanChange | BanRefusal {
    const c = change as { op?: unknown; ban?: Record<string, unknown>; tombstone?: Record<string, unknown> } | null;
    if (c?.op === 'unban' && isObject(c.tombstone)) {
      const t = c.tombstone;
      if (typeof t.target !== 'string' || t.target.length > 64 || !isVersion(t.version) || !isName(t.node) || !isName(t.actor) || !showableTime(t.at)) {
        return this.refuse(source, invalid('invalid', 'malformed lift record'), String(t.target ?? ''));
      }
      return { op: 'unban', tombstone: t as unknown as Tombstone };
    }
    if (c?.op !== 'ban' || !isObject(c.ban)) return this.refuse(source, invalid('invalid', 'neither a ban nor a lift'), '');
    const b = c.ban;
    const target = typeof b.target === 'string' ? b.target : '';
    const fieldsOk =
      typeof b.reason === 'string' &&
      b.reason.trim() !== '' &&
      b.reason.length <= MAX_REASON &&
      isName(b.origin) &&
      isName(b.actor) &&
      isName(b.node) &&
      showableTime(b.createdAt) &&
      (b.expiresAt === null || showableTime(b.expiresAt)) &&
      isVersion(b.version) &&
      (b.evidence === undefined || (typeof b.evidence === 'string' && b.evidence.length <= MAX_EVIDENCE));
    if (!fieldsOk) return this.refuse(source, invalid('invalid', 'malformed ban record'), target);
    if (b.expiresAt !== null && (b.expiresAt as number) - (b.createdAt as number) > MAX_BAN_MS)
      return this.refuse(source, invalid('too_long', 'a ban of more than 100 years'), target);
    const canonical = canonicalTarget(target);
    // A record must already be canonical: another spelling could never be lifted by its own text.
    if (canonical === undefined || canonical !== target)
      return this.refuse(source, invalid('invalid', `not a canonical IP address or CIDR: ${JSON.stringify(target.slice(0, 64))}`), target);
    const refusal = this.targetRefusal(canonical);
    if (refusal) return this.refuse(source, refusal, canonical);
    return { op: 'ban', ban: { ...(b as unknown as Ban), evidence: typeof b.evidence === 'string' ? b.evidence : '' } };
  }

  private shape(input: unknown): ValidBan | BanRefusal {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) return invalid('invalid', 'expected an object with ip, duration and reason');
    const record = input as Record<string, unknown>;
    const unknown = Object.keys(record).filter((key) => !FIELDS.has(key));
    if (unknown.length > 0) return invalid('invalid', `unknown field(s): ${unknown.join(', ')}`);
    if (typeof record.ip !== 'string' || record.ip.length > 64) return invalid('invalid', 'ip must be an IP address or a CIDR');
    if (typeof record.reason !== 'string' || record.reason.trim() === '' || record.reason.length > MAX_REASON)
      return invalid('invalid', `reason must be 1 to ${MAX_REASON} characters`);
    const durationMs = this.duration(record);
    if (typeof durationMs !== 'number') return durationMs;
    return { target: record.ip, durationMs, reason: record.reason.trim() };
  }

  private duration(record: Record<string, unknown>): number | BanRefusal {
    if (record.expires !== undefined && record.expires !== null && record.expires !== '') {
      const at = typeof record.expires === 'string' ? Date.parse(record.expires) : Number.NaN;
      if (!Number.isFinite(at)) return invalid('invalid', 'expires must be an ISO date like 2030-01-01T00:00:00Z');
      const left = at - (this.options.now ?? Date.now)();
      if (left <= 0) return invalid('invalid', 'expires is in the past');
      return left > MAX_BAN_MS ? invalid('too_long', 'expires more than 100 years ahead: use duration 0 for a permanent ban') : left;
    }
    const text = record.duration === undefined ? undefined : String(record.duration);
    if (text === undefined || text === '') return invalid('invalid', 'duration is required (like 1h, 7d, or 0 for permanent)');
    if (text === '0') return 0;
    const ms = parseDuration(text);
    if (ms === undefined || ms <= 0)
      return invalid('invalid', `duration must look like 30m, 1h, 7d, or 0 for permanent (got ${JSON.stringify(text.slice(0, 32))})`);
    return ms > MAX_BAN_MS
      ? invalid('too_long', `duration longer than 100 years (36500d): use 0 for a permanent ban (got ${JSON.stringify(text.slice(0, 32))})`)
      : ms;
  }

  /** Why a canonical target may not be banned: too wide a network, or protected. */
  private targetRefusal(target: string): BanRefusal | undefined {
    if (target.includes('/')) {
      const cidr = parseCidr(target)!;
      const min = cidr.family === 'ipv4' ? this.options.minPrefixV4 : this.options.minPrefixV6;
      if (cidr.bits < min) return invalid('too_wide', `network ${target} is wider than /${min} (BAN_MIN_PREFIX_${cidr.family === 'ipv4' ? 'IPV4' : 'IPV6'})`);
    }
    const loopback = target.includes('/') ? LOOPBACK.overlaps(target) : isLoopback(target);
    if (loopback) return protectedBy('loopback', `${target} is a loopback address: banning it would lock out the node itself`);
    if (this.options.holdsTrustedProxy(target))
      return protectedBy('trusted_proxy', `${target} holds a trusted proxy (REAL_IP_FROM): banning it would block every client behind it`);
    const plugin = this.options.protector(target);
    if (plugin) return protectedBy('protected', `${target} is protected by the ${plugin} plugin`);
    return undefined;
  }

  private refuse(source: BanSource, refusal: BanRefusal, target: string): BanRefusal {
    for (const listener of this.listeners) listener(source, refusal, target);
    return refusal;
  }
}

function invalid(reason: RefusalReason, message: string): BanRefusal {
  return { code: 'PAL_BAN_INVALID', reason, message };
}

function protectedBy(reason: RefusalReason, message: string): BanRefusal {
  return { code: 'PAL_BAN_PROTECTED', reason, message };
}

/** True for a refusal of {@link BanPolicy}. */
export function isRefusal<T extends object>(value: T | BanRefusal): value is BanRefusal {
  return 'code' in value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME;
}

function isVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
