import type { RequestContext } from './types.js';

/**
 * The contract between the sessions plugin and plugins that remember clients (antibot):
 * the sessions plugin puts a loader in `ctx.locals` under {@link SESSION}; a plugin calls it
 * only when it needs the session, so requests that do not pay nothing.
 */
export const SESSION = Symbol.for('palisade.session');

export interface RequestSession {
  readonly id: string;
  /** The session's data; change it, then `save()`. */
  readonly data: Record<string, unknown>;
  /** True when no valid session came with the request (none, tampered, expired, other client). */
  readonly isNew: boolean;
  /** Stores the data (and marks the cookie to be sent). */
  save(): Promise<void>;
  /** `Set-Cookie` value to send with a response the proxy renders itself, if one is due. */
  cookie(): string | undefined;
}

/** The sessions plugin's loader, one per node; called at most once per request. */
export type SessionLoader = (ctx: RequestContext) => Promise<RequestSession>;

const LOADED = Symbol('palisade.session.loaded');

/** The session of this request, or undefined when the sessions plugin is not running. */
export function sessionOf(ctx: RequestContext): Promise<RequestSession> | undefined {
  let loading = ctx.locals.get(LOADED) as Promise<RequestSession> | undefined;
  if (loading) return loading;
  const loader = ctx.locals.get(SESSION) as SessionLoader | undefined;
  if (!loader) return undefined;
  loading = loader(ctx);
  ctx.locals.set(LOADED, loading);
  return loading;
}
