import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { coded } from '../errors.js';
import type { BanPolicy } from './ban-policy.js';

/** Sources whose refusals nobody is told about otherwise: the records themselves are logged. */
const LOGGED_SOURCES = new Set(['redis', 'snapshot']);
/** Refused records logged per minute, at most; the rest are counted only. */
const LOG_PER_MINUTE = 20;

/**
 * Counts every ban the policy refuses in `palisade_bans_refused_total{source,reason}`, and
 * logs the records refused from Redis or the snapshot (`PAL_BAN_INVALID` /
 * `PAL_BAN_PROTECTED`, with the target; at most {@link LOG_PER_MINUTE} a minute). The API
 * answers its caller and a list download logs its own lines, so those are counted only.
 */
export function watchBanRefusals(policy: BanPolicy, registry: Registry, log: Logger): void {
  const refused = new Counter({
    name: 'palisade_bans_refused_total',
    help: 'Bans the ban policy refused, by source (api, import, a plugin id such as blacklist, snapshot, redis) and reason (invalid, too_wide, too_long, loopback, trusted_proxy, protected).',
    labelNames: ['source', 'reason'] as const,
    registers: [registry],
  });
  let minute = 0;
  let logged = 0;
  policy.onRefused((source, refusal, target) => {
    refused.labels(source, refusal.reason).inc();
    if (!LOGGED_SOURCES.has(source)) return;
    const now = Math.floor(Date.now() / 60_000);
    if (now !== minute) {
      minute = now;
      logged = 0;
    }
    if (logged++ < LOG_PER_MINUTE)
      log.warn(coded(refusal.code, { source, target: target.slice(0, 64), reason: refusal.reason }), `ban record from ${source} refused: ${refusal.message}`);
  });
}
