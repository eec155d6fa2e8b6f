import type { PluginDefinition } from '../src/plugin/types.js';
import badBehavior from './bad-behavior/index.js';
import blacklist from './blacklist/index.js';
import antibot from './antibot/index.js';
import limit from './limit/index.js';
import metrics from './metrics/index.js';
import modsecurity from './modsecurity/index.js';
import redis from './redis/index.js';
import sessions from './sessions/index.js';
import whitelist from './whitelist/index.js';

/**
 * The built-in plugins, in order. The order is the phase order: a plugin's `onRequest` runs
 * before every plugin listed after it, and releases run in reverse. `redis` comes first: it
 * provides the shared store the others use; the whitelist decides exemptions before the
 * blacklist and the limits look at a request; sessions before the antibot that uses them; the
 * WAF after the cheaper checks (a banned, blacklisted or limited client costs it nothing).
 */
export const builtinPlugins: readonly PluginDefinition<any>[] = [redis, whitelist, blacklist, limit, badBehavior, sessions, antibot, modsecurity, metrics];
