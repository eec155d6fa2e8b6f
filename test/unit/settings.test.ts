import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { settingsSpec } from '../../src/plugin/catalog.js';
import { coerce } from '../../src/settings/coerce.js';
import { formatDuration, parseDuration } from '../../src/settings/duration.js';
import { formatSize, parseSize } from '../../src/settings/size.js';
import { readEnvironment } from '../../src/settings/environment.js';
import { formatSettingError } from '../../src/settings/errors.js';
import { loadSettings, type LoadResult } from '../../src/settings/load.js';
import { lostFiles, readSettings } from '../../src/settings/read.js';
import type { SettingsManifest } from '../../src/settings/manifest.js';
import { suggestSetting } from '../../src/settings/typos.js';

const spec = settingsSpec([]);
/** The WAF off where the built-in plugins' settings are read: its check compiles the CRS, which these cases are not about. */
const NO_WAF = { USE_MODSECURITY: 'no' };
const load = (env: Record<string, string>): Promise<LoadResult> => loadSettings(spec, env);
const messages = (result: LoadResult): string[] => (result.ok ? [] : result.errors.map(formatSettingError));

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['60s', 60_000],
    ['10m', 600_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['5', 5_000],
    ['0.5', 500],
  ])('parses %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '-1', '5x', '1h30m', 'ms', '1e3'])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());

  it('formats back in the largest exact unit', async () => {
    expect([500, 5_000, 90_000, 3_600_000, 86_400_000].map(formatDuration)).toEqual(['500ms', '5s', '90s', '1h', '1d']);
  });
});

describe('sizes', () => {
  it.each([
    ['512', 512],
    ['64k', 65_536],
    ['10m', 10_485_760],
    ['10M', 10_485_760],
    ['1g', 1_073_741_824],
    ['0', 0],
  ])('parses %s', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(['', '-1', '1.5m', '10mb', 'm', '1t'])('rejects %j', (text) => expect(parseSize(text)).toBeUndefined());

  it('formats back in the largest exact unit', async () => {
    expect([512, 65_536, 10_485_760, 1_073_741_824, 1_500].map(formatSize)).toEqual(['512', '64k', '10m', '1g', '1500']);
  });

  it('reads MAX_CLIENT_SIZE as bytes and names a bad one', async () => {
    const loaded = await load({ MAX_CLIENT_SIZE: '1m' });
    expect(loaded.ok && loaded.settings.MAX_CLIENT_SIZE).toBe(1_048_576);
    expect(messages(await load({ MAX_CLIENT_SIZE: '10 MB' }))).toEqual(['MAX_CLIENT_SIZE: must be a size like 512, 64k, 10m or 1g (got "10 MB")']);
  });
});

describe('one sentinel service (REDIS_SENTINEL_HOST + REDIS_SENTINEL_PORT)', () => {
  const full = (env: Record<string, string>): Promise<LoadResult> =>
    // The WAF off: its check compiles the CRS, which these cases are not about.
    loadSettings(settingsSpec(builtinPlugins), { USE_REDIS: 'yes', SESSIONS_SECRET: 'x'.repeat(32), USE_MODSECURITY: 'no', ...env });
  const sentinels = (result: LoadResult): unknown => (result.ok ? result.settings.REDIS_SENTINEL_HOSTS : messages(result));

  it('becomes the one-entry sentinel list, port 26379 by default, IPv6 in brackets', async () => {
    expect(sentinels(await full({ REDIS_SENTINEL_HOST: 'sentinel.redis.svc', REDIS_SENTINEL_PORT: '26380' }))).toEqual(['sentinel.redis.svc:26380']);
    expect(sentinels(await full({ REDIS_SENTINEL_HOST: '10.0.0.7' }))).toEqual(['10.0.0.7:26379']);
    expect(sentinels(await full({ REDIS_SENTINEL_HOST: 'fd00::7' }))).toEqual(['[fd00::7]:26379']);
    const loaded = await full({ REDIS_SENTINEL_HOST: 'sentinel.redis.svc' });
    expect(loaded.ok && loaded.sources.get('REDIS_SENTINEL_HOSTS')).toBe('derived');
  });

  it('refuses both kinds at once, naming both', async () => {
    expect(messages(await full({ REDIS_SENTINEL_HOSTS: 'a:26379 b:26379', REDIS_SENTINEL_HOST: 'sentinel.redis.svc' }))).toEqual([
      'REDIS_SENTINEL_HOST: set either REDIS_SENTINEL_HOSTS (a list) or REDIS_SENTINEL_HOST with REDIS_SENTINEL_PORT (one sentinel service), not both',
    ]);
  });

  it('reports a bad host or port once, on its own name', async () => {
    expect(messages(await full({ REDIS_SENTINEL_HOST: 'bad host!' }))).toEqual([
      'REDIS_SENTINEL_HOST: must be a hostname or an IP address, like redis.internal or 10.0.0.7 (got "bad host!")',
    ]);
    expect(messages(await full({ REDIS_SENTINEL_HOST: 'sentinel.redis.svc', REDIS_SENTINEL_PORT: '70000' }))[0]).toBe(
      'REDIS_SENTINEL_PORT: must be at most 65535 (got "70000")',
    );
  });

  it('reads a Kubernetes service link in a port setting as its port', async () => {
    expect(sentinels(await full({ REDIS_SENTINEL_HOST: 'sentinel.redis.svc', REDIS_SENTINEL_PORT: 'tcp://10.96.0.9:26379' }))).toEqual([
      'sentinel.redis.svc:26379',
    ]);
    const standalone = await full({ REDIS_HOST: 'redis', REDIS_PORT: 'tcp://10.96.0.7:6380' });
    expect(standalone.ok && standalone.settings.REDIS_PORT).toBe(6380);
    expect(messages(await full({ REDIS_HOST: 'redis', REDIS_PORT: 'tcp://10.96.0.7' }))).toEqual([
      'REDIS_PORT: must be a whole number (got "tcp://10.96.0.7")',
    ]);
    // A link is not the user's choice: the port of the REDIS_URL the user set wins over it.
    const fromUrl = await full({ REDIS_URL: 'redis://cache.example:6380', REDIS_PORT: 'tcp://10.96.0.7:6379' });
    expect(fromUrl.ok && [fromUrl.settings.REDIS_HOST, fromUrl.settings.REDIS_PORT]).toEqual(['cache.example', 6380]);
  });
});

describe('coercion', () => {
  it('reads yes/no, true/false, 1/0 and on/off in any case', async () => {
    const bool = { type: 'boolean', default: false, description: '' } as const;
    expect(['yes', 'TRUE', '1', 'on'].map((t) => coerce(bool, t))).toEqual(Array(4).fill({ ok: true, value: true }));
    expect(['no', 'False', '0', 'off'].map((t) => coerce(bool, t))).toEqual(Array(4).fill({ ok: true, value: false }));
    expect(coerce(bool, 'maybe')).toEqual({ ok: false, message: 'must be yes or no' });
  });

  it('splits lists on spaces and commas', async () => {
    const list = { type: 'array', default: [], description: '' } as const;
    expect(coerce(list, ' 10.0.0.0/8, 192.168.1.1  ::1,')).toEqual({ ok: true, value: ['10.0.0.0/8', '192.168.1.1', '::1'] });
  });

  it('refuses non-integers for integer settings', async () => {
    const int = { type: 'integer', default: 1, description: '' } as const;
    expect(coerce(int, '12')).toEqual({ ok: true, value: 12 });
    expect(coerce(int, '1.5').ok).toBe(false);
    expect(coerce(int, 'abc').ok).toBe(false);
  });
});

describe('loadSettings', () => {
  it('fills every setting with its default and a computed node name', async () => {
    const result = await load({});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.settings.HTTP_PORT).toBe(8080);
    expect(result.settings.REAL_IP_FROM).toEqual(['192.168.0.0/16', '172.16.0.0/12', '10.0.0.0/8']);
    expect(result.settings.HEADER_TIMEOUT).toBe(10_000);
    expect(result.settings.NODE_NAME).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*$/);
    expect(Object.isFrozen(result.settings)).toBe(true);
    expect(Object.isFrozen(result.settings.REAL_IP_FROM)).toBe(true);
  });

  it('lists every problem at once, each naming the variable and the value', async () => {
    const result = await load({
      HTTP_PORT: 'abc',
      DENY_HTTP_STATUS: '99',
      REAL_IP_FROM: '10.0.0.0/8 10.0.0.0/33',
      ADMIN_LISTEN: '0.0.0.0:9901',
      LOG_LEVEL: 'loud',
      HEADER_TIMEOUT: 'soon',
    });
    expect(messages(result)).toEqual([
      'HTTP_PORT: must be a whole number (got "abc")',
      'REAL_IP_FROM: must be an IP or a CIDR like 10.0.0.0/8 or 2001:db8::/32 (got "10.0.0.0/33")',
      'DENY_HTTP_STATUS: must be at least 400 (got "99")',
      'ADMIN_TOKEN: required when ADMIN_LISTEN is not a loopback address (ADMIN_LISTEN is 0.0.0.0:9901); or set ADMIN_TOKENS, or ADMIN_AUTH_PROXY_FROM',
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
      'HEADER_TIMEOUT: must be a duration like 500ms, 60s, 10m, 24h, 7d or bare seconds (got "soon")',
    ]);
  });

  it('accepts a non-loopback admin address with a token, and masks the token in errors', async () => {
    expect((await load({ ADMIN_LISTEN: '0.0.0.0:9901', ADMIN_TOKEN: 'a-long-enough-token' })).ok).toBe(true);
    expect(messages(await load({ ADMIN_TOKEN: 'short-secret' }))).toEqual(['ADMIN_TOKEN: must be at least 16 characters (got "***")']);
  });

  it('treats loopback admin addresses (IPv4, IPv6, localhost) as needing no token', async () => {
    for (const address of ['127.0.0.1:9901', '[::1]:9901', 'localhost:9901']) expect((await load({ ADMIN_LISTEN: address })).ok).toBe(true);
  });

  it('reads <NAME>_FILE, refuses both forms and names an unreadable file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-settings-'));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'token-from-a-file-123\n');
    const fromFile = await load({ ADMIN_TOKEN_FILE: tokenFile });
    expect(fromFile.ok && fromFile.settings.ADMIN_TOKEN).toBe('token-from-a-file-123');
    expect(fromFile.ok && fromFile.sources.get('ADMIN_TOKEN')).toBe('file');
    expect(messages(await load({ ADMIN_TOKEN: 'x'.repeat(20), ADMIN_TOKEN_FILE: tokenFile }))).toEqual([
      'ADMIN_TOKEN: set both ADMIN_TOKEN and ADMIN_TOKEN_FILE; keep one',
    ]);
    expect(messages(await load({ ADMIN_TOKEN_FILE: join(dir, 'missing') }))).toEqual([
      `ADMIN_TOKEN_FILE: cannot read the file (ENOENT) (got ${JSON.stringify(join(dir, 'missing'))}) [PAL_SETTINGS_FILE_UNREADABLE]`,
    ]);
  });

  it('reports a probable typo with a suggestion and ignores unrelated variables', async () => {
    expect(messages(await load({ HTTP_PROT: '80', PATH: '/bin', HOSTNAME: 'x', NODE_ENV: 'production' }))).toEqual([
      'HTTP_PROT: unknown setting; did you mean HTTP_PORT?',
    ]);
    expect(messages(await load({ REVERSE_PROXY_HOTS: 'http://a' }))).toEqual(['REVERSE_PROXY_HOTS: unknown setting; did you mean REVERSE_PROXY_HOST?']);
    // One edit for a short name, two for a long one (12 characters or more); the nearest wins.
    const known = ['HTTP_PORT', 'HTTP_ADDRESS', 'ADMIN_TOKEN', 'REDIS_SENTINEL_MASTER', 'REDIS_SENTINEL_HOSTS'];
    expect(suggestSetting('HTTP_POR', known)).toBe('HTTP_PORT');
    expect(suggestSetting('ADMIN_TOKNE', known)).toBe('ADMIN_TOKEN');
    expect(suggestSetting('ADMIN_TKNE', known)).toBeUndefined();
    expect(suggestSetting('REDIS_SENTNEL_MASTR', known)).toBe('REDIS_SENTINEL_MASTER');
    expect(suggestSetting('REDIS_SENTINEL_HOST', known)).toBe('REDIS_SENTINEL_HOSTS');
    expect(suggestSetting('REDIS_SNTNEL_MSTR', known)).toBeUndefined();
    expect(suggestSetting('NODE_EXTRA_CA_CERTS', known)).toBeUndefined();
  });

  it('checks URL, listen-address and header-name formats', async () => {
    expect(messages(await load({ REVERSE_PROXY_HOST: 'ftp://x', ADMIN_LISTEN: 'nowhere', REAL_IP_HEADER: 'X Bad' }))).toEqual([
      'REVERSE_PROXY_HOST: must be an http:// or https:// URL like http://10.0.0.5:8000, without credentials (got "ftp://x")',
      'REAL_IP_HEADER: must be an HTTP header name like X-Forwarded-For (got "X Bad")',
      'ADMIN_LISTEN: must be host:port with an IP host, like 127.0.0.1:9901 or [::1]:9901 (got "nowhere")',
    ]);
  });

  it('refuses a header timeout longer than the request timeout', async () => {
    expect(messages(await load({ HEADER_TIMEOUT: '2m', REQUEST_TIMEOUT: '1m' }))).toEqual([
      'HEADER_TIMEOUT: must not exceed REQUEST_TIMEOUT (60000ms) (got "120000ms")',
    ]);
  });

  it('runs plugin derivers under explicit values and validates what they produce', async () => {
    const manifest: SettingsManifest = {
      id: 'demo',
      name: 'Demo',
      description: '',
      settings: { DEMO_PORT: { type: 'integer', minimum: 1, maximum: 65535, default: 1, description: '' } },
    };
    const derived = await loadSettings(
      {
        manifests: [...spec.manifests, manifest],
        derivers: [(raw) => ({ values: { DEMO_PORT: raw('HTTP_ADDRESS') === '127.0.0.2' ? '70000' : '1' }, errors: [] })],
      },
      { HTTP_ADDRESS: '127.0.0.2' },
    );
    expect(messages(derived)).toEqual(['DEMO_PORT: must be at most 65535 (got "70000")']);
  });
});

describe('readEnvironment', () => {
  it('reads .env under the real environment, which wins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-dotenv-'));
    writeFileSync(join(dir, '.env'), 'HTTP_PORT=9000\nLOG_LEVEL=debug\n');
    const env = readEnvironment({ HTTP_PORT: '9100' }, dir);
    expect(env.vars.HTTP_PORT).toBe('9100');
    expect(env.vars.LOG_LEVEL).toBe('debug');
    expect([...env.fromDotenv]).toEqual(['LOG_LEVEL']);
    expect(env.dotenv).toEqual({ state: 'read', path: join(dir, '.env'), variables: 2 });
  });

  it('says an unreadable .env instead of throwing, and names it as a setting error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-dotenv-'));
    mkdirSync(join(dir, '.env')); // a directory: unreadable as a file, whoever runs the test
    const read = await readSettings(settingsSpec(builtinPlugins), NO_WAF, dir);
    expect(read.dotenv).toMatchObject({ state: 'unreadable', reason: 'EISDIR' });
    expect(read.result.ok).toBe(false);
    expect(!read.result.ok && read.result.errors[0]).toMatchObject({
      name: '.env',
      code: 'PAL_SETTINGS_FILE_UNREADABLE',
      message: 'cannot read the file (EISDIR)',
    });
  });

  it('names what a reload could no longer read: a .env gone or emptied, a *_FILE emptied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-dotenv-'));
    const token = join(dir, 'token');
    writeFileSync(token, 'a-token-of-twenty-chars-or-more\n');
    writeFileSync(join(dir, '.env'), `HTTP_PORT=9000\nADMIN_TOKEN_FILE=${token}\n`);
    const started = await readSettings(settingsSpec(builtinPlugins), NO_WAF, dir);
    expect(lostFiles(started, await readSettings(settingsSpec(builtinPlugins), NO_WAF, dir))).toEqual([]);
    writeFileSync(token, '');
    expect(lostFiles(started, await readSettings(settingsSpec(builtinPlugins), NO_WAF, dir)).map((e) => `${e.name}: ${e.message}`)).toEqual([
      'ADMIN_TOKEN_FILE: the file is empty now (a rewrite in progress?)',
    ]);
    writeFileSync(join(dir, '.env'), '');
    expect(lostFiles(started, await readSettings(settingsSpec(builtinPlugins), NO_WAF, dir)).map((e) => e.name)).toEqual(['.env', 'ADMIN_TOKEN_FILE']);
    rmSync(join(dir, '.env'));
    expect(lostFiles(started, await readSettings(settingsSpec(builtinPlugins), NO_WAF, dir))[0]).toMatchObject({
      name: '.env',
      message: 'the .env the node started with (2 variables) is gone',
    });
  });
});
