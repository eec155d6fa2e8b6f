import type { PluginDefinition } from '../src/plugin/types.js';
import redis from './redis/index.js';

/**
 * The built-in plugins, in order. The order is the phase order: a plugin's `onRequest` runs
 * before every plugin listed after it, and releases run in reverse. `redis` comes first:
 * it provides the shared store the others use.
 */
export const builtinPlugins: readonly PluginDefinition<any>[] = [redis];
