import type { RequestContext } from './types.js';

/** Where a request's evidence notes are kept in `ctx.locals`. */
const EVIDENCE = Symbol.for('palisade.evidence');
/** Longest note kept (a ban's evidence shows a few requests, not a log). */
const NOTE_CHARS = 200;

/**
 * Notes what this request did that a ban made for it should show (`waf 942100 sqli`): one
 * short text, no secrets, no body. Bad behaviour writes a refused request's notes into the
 * evidence of the ban it makes.
 */
export function addEvidence(ctx: RequestContext, note: string): void {
  const notes = ctx.locals.get(EVIDENCE) as string[] | undefined;
  const text = note.slice(0, NOTE_CHARS);
  if (notes) notes.push(text);
  else ctx.locals.set(EVIDENCE, [text]);
}

/** The notes plugins added to this request (see {@link addEvidence}), if any. */
export function evidenceOf(ctx: RequestContext): readonly string[] | undefined {
  return ctx.locals.get(EVIDENCE) as string[] | undefined;
}
