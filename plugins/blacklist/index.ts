import { definePlugin, loadManifest } from '../../src/plugin/define.js';
import { RequestMatcher } from '../../src/plugin/matchers.js';
import { deny } from '../../src/plugin/verdict.js';
import type { BlacklistSettings } from '../../src/settings/types.generated.js';

/** The blacklist: refuses a client by IP or network, User-Agent or path (`DENY_HTTP_STATUS`). */
export default definePlugin<BlacklistSettings>({
  manifest: loadManifest('blacklist'),
  provision(ctx) {
    const list = new RequestMatcher(ctx.settings.BLACKLIST_IP, ctx.settings.BLACKLIST_USER_AGENT, ctx.settings.BLACKLIST_URI);
    if (list.empty) return {};
    return {
      onRequest(request) {
        if (request.exempt) return undefined;
        const matched = list.match(request);
        return matched ? deny(`blacklist.${matched}`) : undefined;
      },
    };
  },
});
