import { accessSync, constants, statSync } from 'node:fs';
import { formats, parseListenAddress } from './formats.js';
import type { SettingError } from './errors.js';
import type { Settings } from './load.js';
import { isLoopback } from '../net/ip.js';
import { parseCredentials } from './credentials.js';

/** Rules between core settings, run after each value was checked on its own. */
export function coreChecks(settings: Settings, valid: (name: string) => boolean): SettingError[] {
  const errors: SettingError[] = [];
  const admin = parseListenAddress(String(settings.ADMIN_LISTEN));
  const loopback = admin !== undefined && (admin.host === 'localhost' || isLoopback(admin.host));
  const tokens = settings.ADMIN_TOKENS as string[];
  const proxies = settings.ADMIN_AUTH_PROXY_FROM as string[];
  if (admin && valid('ADMIN_LISTEN') && !loopback && settings.ADMIN_TOKEN === '' && tokens.length === 0 && proxies.length === 0) {
    errors.push({
      name: 'ADMIN_TOKEN',
      message: `required when ADMIN_LISTEN is not a loopback address (ADMIN_LISTEN is ${String(settings.ADMIN_LISTEN)}); or set ADMIN_TOKENS, or ADMIN_AUTH_PROXY_FROM`,
    });
  }
  // Named after the entry, never its token.
  for (const problem of parseCredentials(tokens, valid('ADMIN_TOKEN') ? String(settings.ADMIN_TOKEN) : '').problems)
    errors.push({ name: 'ADMIN_TOKENS', message: problem });
  const groupsHeader = String(settings.ADMIN_AUTH_PROXY_GROUPS_HEADER);
  if (groupsHeader !== '' && !formats['header-name']!.validate(groupsHeader)) {
    errors.push({ name: 'ADMIN_AUTH_PROXY_GROUPS_HEADER', message: `${formats['header-name']!.message}, or empty`, got: groupsHeader });
  }
  // Every address may name the admin user: any client that reaches the listener is whoever it says.
  const everyone = proxies.filter((cidr) => /\/0$/.test(cidr));
  if (admin && valid('ADMIN_LISTEN') && valid('ADMIN_AUTH_PROXY_FROM') && !loopback && everyone.length > 0) {
    errors.push({
      name: 'ADMIN_AUTH_PROXY_FROM',
      message: `${everyone.join(', ')} trusts every address to name the admin user (any client reaching ${String(settings.ADMIN_LISTEN)} could send the user header); name the auth proxy's own addresses`,
      got: everyone.join(' '),
    });
  }
  if ((settings.ADMIN_AUTH_PROXY_ROLES as string[]).length > 0 && proxies.length === 0) {
    errors.push({ name: 'ADMIN_AUTH_PROXY_ROLES', message: 'needs ADMIN_AUTH_PROXY_FROM (the proxy whose users these roles are for)' });
  }
  if (valid('HEADER_TIMEOUT') && valid('REQUEST_TIMEOUT') && Number(settings.HEADER_TIMEOUT) > Number(settings.REQUEST_TIMEOUT)) {
    errors.push({
      name: 'HEADER_TIMEOUT',
      message: `must not exceed REQUEST_TIMEOUT (${String(settings.REQUEST_TIMEOUT)}ms)`,
      got: `${String(settings.HEADER_TIMEOUT)}ms`,
    });
  }
  if (
    admin &&
    valid('HTTP_PORT') &&
    settings.HTTP_PORT === admin.port &&
    (admin.host === settings.HTTP_ADDRESS || settings.HTTP_ADDRESS === '0.0.0.0' || settings.HTTP_ADDRESS === '::')
  ) {
    errors.push({ name: 'ADMIN_LISTEN', message: `must not use the proxy port ${String(settings.HTTP_PORT)}`, got: String(settings.ADMIN_LISTEN) });
  }
  const stateDir = String(settings.STATE_DIR ?? '');
  if (stateDir !== '') {
    const problem = directoryProblem(stateDir);
    if (problem) errors.push({ name: 'STATE_DIR', message: problem, got: stateDir, code: 'PAL_SETTINGS_FILE_UNREADABLE' });
  }
  return errors;
}

/** Why `path` cannot hold the node's state (missing, not a directory, not writable), if it cannot. */
function directoryProblem(path: string): string | undefined {
  try {
    if (!statSync(path).isDirectory()) return 'must be a directory';
    accessSync(path, constants.R_OK | constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT'
      ? 'must be an existing directory (create it, or mount a volume there)'
      : `must be a directory this process can read and write (${code ?? 'inaccessible'})`;
  }
}
