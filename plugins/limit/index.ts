import type { LimitSettings } from '../../src/settings/types.generated.js';
import { definePlugin, loadManifest, parseRate, respond, type RateDecision } from '../../src/plugin/index.js';

/** One compiled rule: its number (the counter's rule label), path pattern and rate. */
interface Rule {
  id: string;
  path: RegExp | undefined;
  limit: number;
  periodMs: number;
}

/**
 * Numbered rules (`LIMIT_REQ_URL_1`/`LIMIT_REQ_RATE_1`, …) in numeric order, then the base
 * rule. A rule needs both its URL and its rate; `/` alone matches every path.
 */
function compileRules(settings: Readonly<LimitSettings>): Rule[] {
  const numbers = new Set<number>();
  for (const name of Object.keys(settings)) {
    const match = /^LIMIT_REQ_(?:URL|RATE)_([1-9][0-9]?)$/.exec(name);
    if (match) numbers.add(Number(match[1]));
  }
  const rule = (id: string, url: string | undefined, rate: string | undefined): Rule[] => {
    const parsed = rate === undefined ? undefined : parseRate(rate);
    if (url === undefined || parsed === undefined) return [];
    return [{ id, path: url === '/' ? undefined : new RegExp(url), ...parsed }];
  };
  return [
    ...[...numbers].sort((a, b) => a - b).flatMap((n) => rule(String(n), settings[`LIMIT_REQ_URL_${n}`], settings[`LIMIT_REQ_RATE_${n}`])),
    ...rule('0', settings.LIMIT_REQ_URL, settings.LIMIT_REQ_RATE),
  ];
}

/** Nothing when allowed, else 429 with `Retry-After`. */
function verdictOf(decision: RateDecision) {
  if (decision.allowed) return undefined;
  const seconds = String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000)));
  return respond(429, 'limit.req', '429 Too Many Requests\n', { 'retry-after': seconds, 'content-type': 'text/plain; charset=utf-8' });
}

/**
 * Request rate limits per client and rule, shared by every node: GCRA, decided from a lease
 * of hits this process holds on the client's bucket (a round trip only to take one, none for
 * a client already known to be over; see store/counters.ts); while Redis is unusable,
 * `LIMIT_REQ_DEGRADED` decides (this node's share of each limit by default).
 * Past the limit: 429 with `Retry-After`. Infrastructure (loopback, `REAL_IP_FROM`) is not limited.
 */
export default definePlugin<LimitSettings>({
  manifest: loadManifest('limit'),
  checkSettings(settings) {
    const errors = [];
    for (const name of Object.keys(settings)) {
      const match = /^LIMIT_REQ_(URL|RATE)_([1-9][0-9]?)$/.exec(name);
      if (!match) continue;
      const partner = `LIMIT_REQ_${match[1] === 'URL' ? 'RATE' : 'URL'}_${match[2]}`;
      if (settings[partner as `LIMIT_REQ_URL_${number}`] === undefined) errors.push({ name: partner, message: `required with ${name}` });
    }
    return errors;
  },
  provision(ctx) {
    const rules = compileRules(ctx.settings);
    if (rules.length === 0) return {};
    const degraded = ctx.settings.LIMIT_REQ_DEGRADED;
    return {
      // Synchronous until a rule applies: a request no rule covers costs no promise.
      onRequest(request) {
        // Limiting the infrastructure (health checks, the load balancer speaking for itself)
        // would take the site down, not a client.
        if (request.exempt || request.infrastructure) return undefined;
        const rule = rules.find((r) => r.path === undefined || r.path.test(request.path));
        if (!rule) return undefined;
        // Answered at once when no round trip is needed (local store, known offender): no promise.
        const decision = ctx.store.counters.check({ plugin: 'limit', rule: rule.id, client: request.clientIp }, rule.limit, rule.periodMs, degraded);
        return decision instanceof Promise ? decision.then(verdictOf) : verdictOf(decision);
      },
      async explain(client) {
        if (client.infrastructure)
          return [{ effect: 'info' as const, rule: 'LIMIT_REQ_RATE', detail: 'infrastructure (loopback or REAL_IP_FROM): never limited' }];
        return Promise.all(
          rules.map(async (rule) => {
            const name = rule.id === '0' ? 'LIMIT_REQ_RATE' : `LIMIT_REQ_RATE_${rule.id}`;
            const where = rule.path ? `paths matching ${rule.path.source}` : 'every path';
            const scope = rule.path ? { scope: `paths matching ${rule.path.source}` } : {};
            const now = await ctx.store.counters.peek({ plugin: 'limit', rule: rule.id, client: client.ip }, rule.limit, rule.periodMs);
            return now.allowed
              ? { effect: 'watch' as const, rule: name, ...scope, detail: `${now.remaining + 1} of ${rule.limit} requests left on ${where}` }
              : {
                  effect: 'limit' as const,
                  rule: name,
                  status: 429,
                  ...scope,
                  detail: `over ${rule.limit} requests on ${where}: allowed again in ${Math.ceil(now.retryAfterMs / 1000)} s`,
                };
          }),
        );
      },
    };
  },
});
