import type { WhitelistSettings } from '../../src/settings/types.generated.js';
import { RequestMatcher, definePlugin, loadManifest } from '../../src/plugin/index.js';

/**
 * The whitelist: a matching client skips the ban gate, and every security plugin sees
 * `ctx.exempt` and leaves it alone — no limit, no counting, no ban.
 */
export default definePlugin<WhitelistSettings>({
  manifest: loadManifest('whitelist'),
  provision(ctx) {
    const list = new RequestMatcher(ctx.settings.WHITELIST_IP, ctx.settings.WHITELIST_USER_AGENT, ctx.settings.WHITELIST_URI);
    if (list.empty) return {};
    return {
      exemptFromBans: (request) => list.match(request) !== undefined,
      explain: (client) => [
        ...(list.hasIp(client.ip)
          ? [{ effect: 'exempt' as const, rule: 'WHITELIST_IP', detail: `${client.ip} is whitelisted: no ban applies, no check runs, nothing is counted` }]
          : []),
        ...(list.byRequest
          ? [
              {
                effect: 'info' as const,
                rule: 'WHITELIST_USER_AGENT / WHITELIST_URI',
                detail: 'requests whose User-Agent or path match are whitelisted, whatever the address',
              },
            ]
          : []),
      ],
      // A whitelisted address, or a network holding one, is never banned by hand.
      protectsFromBans: (target) => (target.includes('/') ? list.overlaps(target) : list.hasIp(target)),
    };
  },
});
