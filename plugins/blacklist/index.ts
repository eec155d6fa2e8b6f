import { describeError } from '../../src/log.js';
import { definePlugin, loadManifest } from '../../src/plugin/define.js';
import { RequestMatcher } from '../../src/plugin/matchers.js';
import { deny } from '../../src/plugin/verdict.js';
import type { BlacklistSettings } from '../../src/settings/types.generated.js';
import { displayUrl, downloadList, parseIpList } from './lists.js';

/** Time one list download may take. */
const DOWNLOAD_TIMEOUT_MS = 30_000;

/**
 * The blacklist: refuses a client by IP or network, User-Agent or path (`DENY_HTTP_STATUS`).
 * Lists from `BLACKLIST_IP_URLS` are downloaded by one node at a time (a lease) and enforced
 * on every node as bans (origin `blacklist`) lasting two refresh periods, so an address
 * dropped from a list is freed after at most two periods and a failed download changes
 * nothing for a while (an explanation shows them as bans).
 */
export default definePlugin<BlacklistSettings>({
  manifest: loadManifest('blacklist'),
  provision(ctx) {
    const s = ctx.settings;
    if (s.BLACKLIST_IP_URLS.length > 0 && ctx.duties.node) {
      const lifetime = s.BLACKLIST_URLS_REFRESH * 2;
      ctx.every(
        s.BLACKLIST_URLS_REFRESH,
        async () => {
          for (const url of s.BLACKLIST_IP_URLS) {
            const where = displayUrl(url);
            try {
              const { targets, invalid } = parseIpList(await downloadList(url, DOWNLOAD_TIMEOUT_MS));
              let added = 0;
              for (const target of targets) {
                const current = ctx.store.bans.get(target);
                // Renew once per period (not on every run): no churn on the ban stream.
                if (current && (current.expiresAt === null || current.expiresAt - Date.now() > s.BLACKLIST_URLS_REFRESH)) continue;
                // A background job: the journal delivers, nothing waits for Redis per entry.
                await ctx.store.bans.add({ target, reason: 'blacklist.url', origin: 'blacklist', actor: where, durationMs: lifetime, evidence: `listed by ${where}` }, { waitMs: 0 });
                added++;
              }
              ctx.log.info({ list: where, entries: targets.length, invalid, added }, 'blacklist downloaded');
            } catch (error) {
              ctx.log.warn({ list: where, err: describeError(error) }, 'blacklist download failed; the previous entries stay banned until they expire');
            }
          }
        },
        { name: 'blacklist.urls', leader: true, immediate: true },
      );
    }
    const list = new RequestMatcher(s.BLACKLIST_IP, s.BLACKLIST_USER_AGENT, s.BLACKLIST_URI);
    if (list.empty) return {};
    return {
      onRequest(request) {
        if (request.exempt) return undefined;
        const matched = list.match(request);
        return matched ? deny(`blacklist.${matched}`) : undefined;
      },
      explain: (client) => [
        ...(list.hasIp(client.ip) ? [{ effect: 'deny' as const, rule: 'BLACKLIST_IP', detail: `${client.ip} is blacklisted: every request is refused` }] : []),
        ...(list.byRequest ? [{ effect: 'info' as const, rule: 'BLACKLIST_USER_AGENT / BLACKLIST_URI', detail: 'requests whose User-Agent or path match are refused, whatever the address' }] : []),
      ],
    };
  },
});
