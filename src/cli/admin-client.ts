import { readFileSync } from 'node:fs';
import { parseListenAddress } from '../settings/formats.js';
import { readEnvironment } from '../settings/environment.js';

/** An answer from the admin API. */
export interface AdminAnswer {
  status: number;
  body: string;
  contentType: string;
}

/** Thrown when the admin listener cannot be reached (exit 2). */
export class AdminUnreachable extends Error {}

/**
 * Talks to a node's admin API: `PALISADE_ADMIN_URL`, or the local `ADMIN_LISTEN` (wildcard
 * addresses mean this machine), with `PALISADE_ADMIN_TOKEN` (one of the node's `ADMIN_TOKENS`)
 * or else `ADMIN_TOKEN` (or their `_FILE`) as bearer token. The audit trail names the
 * token's owner: who acts is what the token proves, not what the caller says.
 */
export class AdminClient {
  readonly base: string;
  private readonly token: string;

  constructor(env: Record<string, string> = readEnvironment(process.env, process.cwd()).vars) {
    const listen = parseListenAddress(env.ADMIN_LISTEN || '127.0.0.1:9901');
    const host =
      !listen || listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '[::1]' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
    this.base = (env.PALISADE_ADMIN_URL || `http://${host}:${listen?.port ?? 9901}`).replace(/\/$/, '');
    const fromFile = (name: string): string => (env[name] ? readFileSync(env[name], 'utf8').trim() : '');
    this.token = env.PALISADE_ADMIN_TOKEN || fromFile('PALISADE_ADMIN_TOKEN_FILE') || env.ADMIN_TOKEN || fromFile('ADMIN_TOKEN_FILE');
  }

  async call(method: string, path: string, body?: { text: string; contentType: string }): Promise<AdminAnswer> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body ? { 'content-type': body.contentType } : {}),
        },
        body: body?.text,
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new AdminUnreachable(
        `cannot reach the admin API at ${this.base} (${(error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message}); set PALISADE_ADMIN_URL`,
      );
    }
    return { status: response.status, body: await response.text(), contentType: response.headers.get('content-type') ?? '' };
  }
}
