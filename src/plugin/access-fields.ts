import type { RequestContext } from './types.js';

/** Where a request's extra access-line fields are kept in `ctx.locals`. */
const ACCESS_FIELDS = Symbol.for('palisade.accessFields');

/**
 * Adds fields to this request's access line (`waf: { rules, score }`). Keep them few and
 * small: the line is written for every request. Names of the core's own fields are not
 * replaced.
 */
export function addAccessFields(ctx: RequestContext, fields: Record<string, unknown>): void {
  const current = ctx.locals.get(ACCESS_FIELDS) as Record<string, unknown> | undefined;
  ctx.locals.set(ACCESS_FIELDS, current ? { ...current, ...fields } : fields);
}

/** The fields plugins added to this request's access line, if any. */
export function accessFieldsOf(ctx: RequestContext): Record<string, unknown> | undefined {
  return ctx.locals.get(ACCESS_FIELDS) as Record<string, unknown> | undefined;
}
