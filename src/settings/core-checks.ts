import { parseListenAddress } from './formats.js';
import type { SettingError } from './errors.js';
import type { Settings } from './load.js';
import { isLoopback } from '../net/ip.js';

/** Rules between core settings, run after each value was checked on its own. */
export function coreChecks(settings: Settings, valid: (name: string) => boolean): SettingError[] {
  const errors: SettingError[] = [];
  const admin = parseListenAddress(String(settings.ADMIN_LISTEN));
  const loopback = admin !== undefined && (admin.host === 'localhost' || isLoopback(admin.host));
  if (admin && valid('ADMIN_LISTEN') && !loopback && settings.ADMIN_TOKEN === '') {
    errors.push({
      name: 'ADMIN_TOKEN',
      message: `required when ADMIN_LISTEN is not a loopback address (ADMIN_LISTEN is ${String(settings.ADMIN_LISTEN)})`,
    });
  }
  if (valid('HEADER_TIMEOUT') && valid('REQUEST_TIMEOUT') && Number(settings.HEADER_TIMEOUT) > Number(settings.REQUEST_TIMEOUT)) {
    errors.push({
      name: 'HEADER_TIMEOUT',
      message: `must not exceed REQUEST_TIMEOUT (${String(settings.REQUEST_TIMEOUT)}ms)`,
      got: `${String(settings.HEADER_TIMEOUT)}ms`,
    });
  }
  if (admin && valid('HTTP_PORT') && settings.HTTP_PORT === admin.port && (admin.host === settings.HTTP_ADDRESS || settings.HTTP_ADDRESS === '0.0.0.0' || settings.HTTP_ADDRESS === '::')) {
    errors.push({ name: 'ADMIN_LISTEN', message: `must not use the proxy port ${String(settings.HTTP_PORT)}`, got: String(settings.ADMIN_LISTEN) });
  }
  return errors;
}
