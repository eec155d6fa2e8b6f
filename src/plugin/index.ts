/**
 * What a plugin builds on: its definition and manifest, the request context and hooks, the
 * verdicts, request matchers, the session seam, and the few helpers every plugin needs (an
 * error with a registry code, a one-line error text, HTML escaping, IP and rate parsing).
 * A plugin imports this entry and its generated settings type; one that reaches into
 * `src/store/*` or another room stands out in review.
 */
export { definePlugin, loadManifest } from './define.js';
export { addAccessFields } from './access-fields.js';
export { addEvidence, evidenceOf } from './evidence.js';
export type * from './types.js';
export { challenge, deny, redirect, respond, type Verdict, type VerdictKind } from './verdict.js';
export { RequestMatcher, type ListMatch } from './matchers.js';
export { SESSION, sessionOf, type RequestSession, type SessionLoader } from './session-api.js';
export { PalisadeError } from '../errors.js';
export { describeError } from '../log.js';
export { escapeHtml } from '../html.js';
export { canonicalTarget } from '../net/ip.js';
export { parseRate } from '../settings/formats.js';
export type { RateDecision, SessionRecord } from '../store/types.js';
