import { LRUCache } from 'lru-cache';
import type { BadBehaviorSettings } from '../../src/settings/types.generated.js';
import { definePlugin, describeError, evidenceOf, loadManifest } from '../../src/plugin/index.js';

/** Offences are remembered this long when sizing a repeat offender's ban. */
const OFFENCE_MEMORY_MS = 30 * 86_400_000;
/** Offending requests kept per client as ban evidence. */
const EVIDENCE_LINES = 10;

/**
 * Bad behaviour: counts each client's error statuses across every node (sliding window in
 * Redis) and bans at once when the threshold is reached, with the client's last offending
 * requests as evidence. Repeat offenders get longer bans. Whitelisted clients and the
 * infrastructure (loopback, `REAL_IP_FROM`) are never counted. Refused WebSocket handshakes
 * count like any request. Lifting a ban clears the count, so the
 * client is not banned again on its next 404.
 */
export default definePlugin<BadBehaviorSettings>({
  manifest: loadManifest('bad-behavior'),
  provision(ctx) {
    const s = ctx.settings;
    const statuses = new Set(s.BAD_BEHAVIOR_STATUS_CODES.map(Number));
    const evidence = new LRUCache<string, string[]>({ max: 50_000, ttl: s.BAD_BEHAVIOR_COUNT_TIME });
    const banning = new Set<string>();
    const statusKey = (client: string) => ({ plugin: 'bad-behavior', rule: 'status', client });

    ctx.onClose(
      ctx.store.bans.onChange((change) => {
        if (change.op !== 'unban' || change.tombstone.target.includes('/')) return;
        // Evidence is kept where requests are seen; the shared count is reset once per node.
        if (ctx.duties.requests) evidence.delete(change.tombstone.target);
        if (ctx.duties.node) void ctx.store.counters.reset(statusKey(change.tombstone.target));
      }),
    );

    const ban = async (ip: string, count: number): Promise<void> => {
      const offences = await ctx.store.counters.increment({ plugin: 'bad-behavior', rule: 'offences', client: ip }, OFFENCE_MEMORY_MS);
      const durationMs =
        s.BAD_BEHAVIOR_BAN_TIME === 0 ? 0 : Math.min(s.BAD_BEHAVIOR_BAN_TIME * s.BAD_BEHAVIOR_BAN_FACTOR ** (offences - 1), s.BAD_BEHAVIOR_BAN_TIME_MAX);
      const lines = evidence.get(ip) ?? [];
      await ctx.store.bans.add({
        target: ip,
        reason: 'bad-behavior',
        origin: 'bad-behavior',
        actor: 'bad-behavior',
        durationMs: Math.round(durationMs),
        evidence: lines.join('\n'),
        summary: summaryOf(count, lines),
      });
      ctx.log.warn({ ip, count, offences, durationMs: Math.round(durationMs) }, 'client banned for bad behaviour');
    };

    return {
      async explain(client) {
        if (client.infrastructure)
          return [{ effect: 'info' as const, rule: 'USE_BAD_BEHAVIOR', detail: 'infrastructure (loopback or REAL_IP_FROM): never counted' }];
        const [count, offences] = await Promise.all([
          ctx.store.counters.increment(statusKey(client.ip), s.BAD_BEHAVIOR_COUNT_TIME, 0),
          ctx.store.counters.increment({ plugin: 'bad-behavior', rule: 'offences', client: client.ip }, OFFENCE_MEMORY_MS, 0),
        ]);
        const seconds = Math.round(s.BAD_BEHAVIOR_COUNT_TIME / 1000);
        return [
          {
            effect: 'watch' as const,
            rule: 'BAD_BEHAVIOR_THRESHOLD',
            detail: `${count} of ${s.BAD_BEHAVIOR_THRESHOLD} error responses (${[...statuses].join(', ')}) in the last ${seconds} s; banned at ${s.BAD_BEHAVIOR_THRESHOLD}${offences > 0 ? `; banned ${offences} time(s) in the last 30 days` : ''}`,
          },
        ];
      },
      onResponse(request, outcome) {
        if (request.exempt || request.infrastructure || outcome.verdict === 'ban' || !statuses.has(outcome.status)) return;
        const ip = request.clientIp;
        const lines = evidence.get(ip) ?? [];
        // What other plugins noted of the request (the WAF's rules) goes on its line.
        const notes = evidenceOf(request);
        lines.push(`${new Date().toISOString()} ${request.method} ${request.path.slice(0, 200)} ${outcome.status}${notes ? ` ${notes.join('; ')}` : ''}`);
        if (lines.length > EVIDENCE_LINES) lines.shift();
        evidence.set(ip, lines);
        void ctx.store.counters
          .increment(statusKey(ip), s.BAD_BEHAVIOR_COUNT_TIME)
          .then(async (count) => {
            if (count < s.BAD_BEHAVIOR_THRESHOLD || banning.has(ip) || ctx.store.bans.match(ip)) return;
            banning.add(ip);
            try {
              await ban(ip, count);
            } finally {
              banning.delete(ip);
            }
          })
          .catch((error: unknown) => ctx.log.warn({ err: describeError(error) }, 'bad-behaviour count failed'));
      },
    };
  },
});

/**
 * The audit entry's line for a ban: the count, and the plugins' notes of the evidence (the
 * WAF's rules and categories), most frequent first.
 */
function summaryOf(count: number, lines: readonly string[]): string {
  const notes = new Map<string, number>();
  for (const line of lines) {
    // A line is `<time> <method> <path> <status>[ <notes>]`: the notes are what follows the status.
    const rest = /^\S+ \S+ \S+ \d{3} (.+)$/.exec(line)?.[1];
    if (rest) for (const note of rest.split('; ')) notes.set(note, (notes.get(note) ?? 0) + 1);
  }
  const named = [...notes]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([note, n]) => `${note} ×${n}`);
  return `${count} bad statuses${named.length > 0 ? `: ${named.join('; ')}` : ''}`;
}
