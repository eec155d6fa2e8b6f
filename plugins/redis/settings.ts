import { accessSync, constants } from 'node:fs';
import { isIPv6 } from 'node:net';
import { servicePort } from '../../src/settings/coerce.js';
import { isHostnameOrIp } from '../../src/settings/formats.js';
import type { SettingError } from '../../src/settings/errors.js';
import type { SettingsDeriver } from '../../src/settings/load.js';
import type { RedisSettings } from '../../src/settings/types.generated.js';

/** The URL variables, in the order they are read: the first non-empty one is used. */
export const URL_SETTINGS = ['REDIS_URL', 'REDISTOGO_URL', 'REDISGREEN_URL', 'REDISCLOUD_URL', 'OPENREDIS_URL'] as const;

/** A URL with its password replaced by `***`, safe to print. */
export function maskUrl(text: string): string {
  return text.replace(/^([a-z]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}

/**
 * Fills REDIS_HOST, REDIS_PORT, REDIS_DATABASE, REDIS_USERNAME, REDIS_PASSWORD and REDIS_SSL
 * from `REDIS_URL` (or the first platform alias set); explicit `REDIS_*` values win, which
 * the loader guarantees by only using derived values for unset names.
 */
const deriveFromUrl: SettingsDeriver = (raw) => {
  const name = URL_SETTINGS.find((candidate) => (raw(candidate) ?? '').trim() !== '');
  if (name === undefined) return { values: {}, errors: [] };
  const text = (raw(name) as string).trim();
  const fail = (message: string) => ({ values: {}, errors: [{ name, message, got: maskUrl(text) }] });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('must be a URL like redis://user:password@host:6379/0');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return fail('must start with redis:// or rediss://');
  if (url.hostname === '') return fail('must name a host');
  const database = url.pathname.replace(/^\//, '');
  if (database !== '' && !/^\d+$/.test(database)) return fail('must end with a database number like /0, if any');
  const values: Record<string, string> = { REDIS_HOST: url.hostname.replace(/^\[(.*)\]$/, '$1') };
  if (url.port !== '') values.REDIS_PORT = url.port;
  if (database !== '') values.REDIS_DATABASE = database;
  if (url.username !== '') values.REDIS_USERNAME = decodeURIComponent(url.username);
  if (url.password !== '') values.REDIS_PASSWORD = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') values.REDIS_SSL = 'yes';
  return { values, errors: [] };
};

/**
 * One sentinel service given as `REDIS_SENTINEL_HOST` + `REDIS_SENTINEL_PORT` (how managed
 * Sentinel setups and Kubernetes ConfigMaps hand it out) becomes the one-entry
 * `REDIS_SENTINEL_HOSTS`. Both kinds set is an error naming both. A host or port that is
 * not valid derives nothing: its own check reports it.
 */
const deriveSentinelService: SettingsDeriver = (raw): ReturnType<SettingsDeriver> => {
  const host = (raw('REDIS_SENTINEL_HOST') ?? '').trim();
  if (host === '') return { values: {}, errors: [] };
  if ((raw('REDIS_SENTINEL_HOSTS') ?? '').trim() !== '') {
    return {
      values: {},
      errors: [
        {
          name: 'REDIS_SENTINEL_HOST',
          message: 'set either REDIS_SENTINEL_HOSTS (a list) or REDIS_SENTINEL_HOST with REDIS_SENTINEL_PORT (one sentinel service), not both',
        },
      ],
    };
  }
  const portText = (raw('REDIS_SENTINEL_PORT') ?? '').trim();
  const port = portText === '' ? 26379 : (servicePort(portText) ?? (/^\d{1,5}$/.test(portText) ? Number(portText) : undefined));
  if (port === undefined || port < 1 || port > 65535 || !isHostnameOrIp(host)) return { values: {}, errors: [] };
  return { values: { REDIS_SENTINEL_HOSTS: `${isIPv6(host) ? `[${host}]` : host}:${port}` }, errors: [] };
};

/** Every redis setting filled from another: the URL variables, then one sentinel service. */
export const deriveRedisSettings: SettingsDeriver = (raw) => {
  const results = [deriveFromUrl(raw), deriveSentinelService(raw)];
  return { values: Object.assign({}, ...results.map((r) => r.values)) as Record<string, string>, errors: results.flatMap((r) => r.errors) };
};

/** Rules between the redis settings; only checked when `USE_REDIS=yes`. */
export function checkRedisSettings(settings: Readonly<RedisSettings>, valid: (name: string) => boolean): SettingError[] {
  if (!settings.USE_REDIS || !valid('USE_REDIS')) return [];
  const errors: SettingError[] = [];
  const sentinels = settings.REDIS_SENTINEL_HOSTS.length > 0;
  if (settings.REDIS_CLUSTER) {
    if (sentinels)
      errors.push({ name: 'REDIS_CLUSTER', message: 'cannot go with REDIS_SENTINEL_HOSTS: a Redis Cluster fails over by itself; keep one of them' });
    if (valid('REDIS_DATABASE') && settings.REDIS_DATABASE !== 0)
      errors.push({
        name: 'REDIS_DATABASE',
        message: 'must be 0 with REDIS_CLUSTER=yes: a Redis Cluster has only database 0',
        got: String(settings.REDIS_DATABASE),
      });
    if (settings.REDIS_HOST === '' && settings.REDIS_CLUSTER_NODES.length === 0 && valid('REDIS_CLUSTER_NODES')) {
      errors.push({ name: 'REDIS_CLUSTER_NODES', message: 'required with REDIS_CLUSTER=yes when REDIS_HOST is empty: name at least one node of the cluster' });
    }
  } else if (settings.REDIS_CLUSTER_NODES.length > 0) {
    errors.push({ name: 'REDIS_CLUSTER_NODES', message: 'is read only with REDIS_CLUSTER=yes' });
  }
  // A sentinel service that failed its own check was still meant: no second error for it.
  if (
    !settings.REDIS_CLUSTER &&
    !sentinels &&
    valid('REDIS_SENTINEL_HOSTS') &&
    settings.REDIS_SENTINEL_HOST === '' &&
    valid('REDIS_SENTINEL_HOST') &&
    settings.REDIS_HOST === ''
  ) {
    errors.push({ name: 'REDIS_HOST', message: 'required with USE_REDIS=yes (or set REDIS_URL, REDIS_SENTINEL_HOSTS or REDIS_SENTINEL_HOST)' });
  }
  if (sentinels && settings.REDIS_SENTINEL_MASTER.trim() === '') {
    errors.push({ name: 'REDIS_SENTINEL_MASTER', message: 'must name the master when REDIS_SENTINEL_HOSTS is set', got: '' });
  }
  for (const name of ['REDIS_SSL_CA', 'REDIS_SSL_CERT', 'REDIS_SSL_KEY'] as const) {
    const path = settings[name];
    if (path === '' || !valid(name)) continue;
    try {
      accessSync(path, constants.R_OK);
    } catch (error) {
      errors.push({
        name,
        message: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
        got: path,
        code: 'PAL_SETTINGS_FILE_UNREADABLE',
      });
    }
  }
  if ((settings.REDIS_SSL_CERT === '') !== (settings.REDIS_SSL_KEY === '')) {
    errors.push({ name: settings.REDIS_SSL_CERT === '' ? 'REDIS_SSL_CERT' : 'REDIS_SSL_KEY', message: 'REDIS_SSL_CERT and REDIS_SSL_KEY go together' });
  }
  if (!settings.REDIS_SSL && (settings.REDIS_SSL_CA !== '' || settings.REDIS_SSL_CERT !== '')) {
    errors.push({ name: 'REDIS_SSL', message: 'must be yes when REDIS_SSL_CA or REDIS_SSL_CERT is set', got: 'no' });
  }
  if (valid('REDIS_TIMEOUT') && valid('REDIS_REQUEST_TIMEOUT') && settings.REDIS_REQUEST_TIMEOUT > settings.REDIS_TIMEOUT) {
    errors.push({
      name: 'REDIS_REQUEST_TIMEOUT',
      message: `must not exceed REDIS_TIMEOUT (${settings.REDIS_TIMEOUT}ms)`,
      got: `${settings.REDIS_REQUEST_TIMEOUT}ms`,
    });
  }
  return errors;
}
