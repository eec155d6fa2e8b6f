import type { PluginDefinition } from '../src/plugin/types.js';

/**
 * The built-in plugins, in order. The order is the phase order: a plugin's `onRequest` runs
 * before every plugin listed after it, and releases run in reverse.
 */
export const builtinPlugins: readonly PluginDefinition<any>[] = [];
