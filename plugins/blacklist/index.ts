import { Gauge } from 'prom-client';
import type { BlacklistSettings } from '../../src/settings/types.generated.js';
import { displayUrl, downloadList, parseIpList } from './lists.js';
import { PalisadeError, RequestMatcher, definePlugin, deny, describeError, loadManifest } from '../../src/plugin/index.js';

/** Time one list download may take. */
const DOWNLOAD_TIMEOUT_MS = 30_000;
/** Refused or unparsable lines logged per download, at most; the rest are counted. */
const LINES_LOGGED = 20;

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
      // Per list (the URL without its query string): what its last download held.
      const entriesGauge = new Gauge({
        name: 'palisade_blacklist_list_entries',
        help: 'Entries of each downloaded IP list at its last download, by state: banned (admitted by the ban policy), refused (the policy refused them: loopback, a trusted proxy, a whitelisted address, a network wider than BAN_MIN_PREFIX_*), invalid (not an IP or CIDR).',
        labelNames: ['list', 'state'] as const,
        registers: [ctx.metrics],
      });
      ctx.every(
        s.BLACKLIST_URLS_REFRESH,
        async () => {
          for (const url of s.BLACKLIST_IP_URLS) {
            const where = displayUrl(url);
            try {
              const { entries, invalid } = parseIpList(await downloadList(url, DOWNLOAD_TIMEOUT_MS));
              let added = 0;
              let banned = 0;
              const refused: Array<{ line: number; target: string; why: string }> = [];
              for (const { target, line } of entries) {
                const current = ctx.store.bans.get(target);
                // Renew once per period (not on every run): no churn on the ban stream.
                if (current && (current.expiresAt === null || current.expiresAt - Date.now() > s.BLACKLIST_URLS_REFRESH)) {
                  banned++;
                  continue;
                }
                try {
                  // A background job: the journal delivers, nothing waits for Redis per entry.
                  await ctx.store.bans.add(
                    { target, reason: 'blacklist.url', origin: 'blacklist', actor: where, durationMs: lifetime, evidence: `listed by ${where}` },
                    { waitMs: 0 },
                  );
                  added++;
                  banned++;
                } catch (error) {
                  // The node's ban policy refused it, as it would refuse it from the API.
                  if (!(error instanceof PalisadeError)) throw error;
                  refused.push({ line, target, why: error.message });
                }
              }
              entriesGauge.labels(where, 'banned').set(banned);
              entriesGauge.labels(where, 'refused').set(refused.length);
              entriesGauge.labels(where, 'invalid').set(invalid.length);
              for (const entry of refused.slice(0, LINES_LOGGED))
                ctx.log.warn({ list: where, line: entry.line, target: entry.target }, `blacklist entry refused: ${entry.why}`);
              for (const entry of invalid.slice(0, LINES_LOGGED))
                ctx.log.warn({ list: where, line: entry.line, text: entry.target }, 'blacklist entry invalid: not an IP address or CIDR');
              ctx.log.info({ list: where, entries: entries.length, banned, added, refused: refused.length, invalid: invalid.length }, 'blacklist downloaded');
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
        ...(list.byRequest
          ? [
              {
                effect: 'info' as const,
                rule: 'BLACKLIST_USER_AGENT / BLACKLIST_URI',
                detail: 'requests whose User-Agent or path match are refused, whatever the address',
              },
            ]
          : []),
      ],
    };
  },
});
