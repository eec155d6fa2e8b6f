import { describe, expect, it } from 'vitest';
import { planReload } from '../../src/reload.js';
import { builtinPlugins } from '../../plugins/index.js';
import { settingsSpec } from '../../src/plugin/catalog.js';
import { loadSettings } from '../../src/settings/load.js';

// The WAF off: its check compiles the CRS, which the plan does not depend on.
const base = { SESSIONS_SECRET: 'plan-sessions-secret-0123456789abcdef', USE_MODSECURITY: 'no' };
async function settings(env: Record<string, string>) {
  const loaded = await loadSettings(settingsSpec(builtinPlugins), { ...base, ...env });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.settings;
}
const manifests = settingsSpec(builtinPlugins).manifests;

describe('planReload', () => {
  it('applies what workers or the primary can take, keeps settings read at start, and names them', async () => {
    const current = await settings({ NODE_NAME: 'a', ADMIN_TOKEN: 'token-one-0123456789', LIMIT_REQ_RATE: '5r/s' });
    const next = await settings({
      NODE_NAME: 'b',
      ADMIN_TOKEN: 'token-two-0123456789',
      LIMIT_REQ_RATE: '9r/s',
      LIMIT_REQ_URL_1: '^/api',
      LIMIT_REQ_RATE_1: '1r/s',
      USE_REDIS: 'yes',
      REDIS_HOST: '10.0.0.9',
      DENY_HTTP_STATUS: '451',
    });
    const plan = planReload(current, next, manifests, 2);
    expect(plan.changed).toEqual([
      'ADMIN_TOKEN',
      'DENY_HTTP_STATUS',
      'LIMIT_REQ_RATE',
      'LIMIT_REQ_RATE_1',
      'LIMIT_REQ_URL_1',
      'NODE_NAME',
      'REDIS_HOST',
      'USE_REDIS',
    ]);
    expect(plan.restartNeeded).toEqual(['NODE_NAME', 'REDIS_HOST', 'USE_REDIS']);
    expect(plan.effective).toMatchObject({
      NODE_NAME: 'a',
      USE_REDIS: false,
      REDIS_HOST: '',
      ADMIN_TOKEN: 'token-two-0123456789',
      DENY_HTTP_STATUS: 451,
      LIMIT_REQ_RATE_1: '1r/s',
    });
    expect(Object.isFrozen(plan.effective)).toBe(true);
  });

  it('in one process (WORKERS=0) keeps every core setting the primary does not apply itself', async () => {
    const current = await settings({ ADMIN_TOKEN: 'token-one-0123456789' });
    const next = await settings({ ADMIN_TOKEN: 'token-two-0123456789', DENY_HTTP_STATUS: '451', LOG_LEVEL: 'warn', BLACKLIST_IP: '192.0.2.0/24' });
    const plan = planReload(current, next, manifests, 0);
    expect(plan.restartNeeded).toEqual(['DENY_HTTP_STATUS']);
    expect(plan.changed.filter((name) => !plan.restartNeeded.includes(name))).toEqual(['ADMIN_TOKEN', 'BLACKLIST_IP', 'LOG_LEVEL']);
  });

  it('finds nothing to do when nothing changed', async () => {
    const same = await settings({ NODE_NAME: 'a' });
    expect(planReload(same, await settings({ NODE_NAME: 'a' }), manifests, 2)).toMatchObject({ changed: [], restartNeeded: [] });
  });
});
