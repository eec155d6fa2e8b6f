import { createHash, randomBytes } from 'node:crypto';
import type { AntibotSettings } from '../../src/settings/types.generated.js';
import { challengePage } from './page.js';
import {
  challenge,
  definePlugin,
  loadManifest,
  redirect,
  respond,
  sessionOf,
  type RequestContext,
  type RequestSession,
  type Verdict,
} from '../../src/plugin/index.js';

/** Proof-of-work difficulty: leading zero bits of SHA-256(nonce + solution) (~16k tries). */
export const DIFFICULTY_BITS = 14;
/** Largest answer body read. */
const MAX_ANSWER_BYTES = 2048;

/** What the antibot keeps in the session. */
interface AntibotState {
  passedAt?: number;
  pending?: { nonce: string; issuedAt: number; returnTo: string };
}

/** Leading zero bits of SHA-256(nonce + solution). */
export function proofBits(nonce: string, solution: string): number {
  const digest = createHash('sha256')
    .update(nonce + solution)
    .digest();
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    bits += Math.clz32(byte) - 24;
    break;
  }
  return bits;
}

function readBody(ctx: RequestContext, limit: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let size = 0;
    const chunks: Buffer[] = [];
    ctx.req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        ctx.req.removeAllListeners('data');
        ctx.req.resume();
        resolve(undefined);
      } else chunks.push(chunk);
    });
    ctx.req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    ctx.req.on('error', () => resolve(undefined));
  });
}

/**
 * Antibot: a client without a solved challenge in its session is sent to `ANTIBOT_URI`.
 * `cookie`: coming back with the session cookie is the proof. `javascript`: the page makes
 * the browser solve a small proof of work and post it. A pass is stored in the session (the
 * shared store), so it holds on every node for `ANTIBOT_TIME_VALID`.
 */
export default definePlugin<AntibotSettings>({
  manifest: loadManifest('antibot'),
  provision(ctx) {
    const s = ctx.settings;
    const mode = s.USE_ANTIBOT;
    if (mode === 'no') return {};
    const uri = s.ANTIBOT_URI;
    const withCookie = (verdict: Verdict, session: RequestSession): Verdict => {
      const cookie = session.cookie();
      if (!cookie || verdict.kind === 'deny') return verdict;
      if (verdict.kind === 'redirect') return respond(verdict.status, verdict.reason, '', { location: verdict.location, 'set-cookie': cookie });
      return { ...verdict, headers: { ...verdict.headers, 'set-cookie': cookie } };
    };
    const state = (session: RequestSession): AntibotState => (session.data.antibot ??= {}) as AntibotState;
    const passed = (session: RequestSession): boolean => {
      const at = state(session).passedAt;
      return at !== undefined && at + s.ANTIBOT_TIME_VALID > Date.now();
    };
    const pass = async (session: RequestSession, returnTo: string): Promise<Verdict> => {
      const current = state(session);
      current.passedAt = Date.now();
      delete current.pending;
      await session.save();
      return withCookie(redirect(returnTo, 'antibot.passed', 303), session);
    };

    const answerChallenge = async (request: RequestContext, session: RequestSession): Promise<Verdict> => {
      const pending = state(session).pending;
      const fresh = pending !== undefined && pending.issuedAt + s.ANTIBOT_TIME_RESOLVE > Date.now();
      if (mode === 'cookie') {
        // Coming back here with the cookie that holds the pending challenge is the proof.
        return fresh && !session.isNew ? pass(session, pending.returnTo) : issue(session, '/');
      }
      if (request.method === 'POST') {
        const body = await readBody(request, MAX_ANSWER_BYTES);
        const form = new URLSearchParams(body ?? '');
        const solution = form.get('solution') ?? '';
        if (fresh && form.get('nonce') === pending.nonce && /^\d{1,12}$/.test(solution) && proofBits(pending.nonce, solution) >= DIFFICULTY_BITS) {
          return pass(session, pending.returnTo);
        }
        return withCookie(challenge(page(session), 'antibot.failed', 403, { 'cache-control': 'no-store' }), session);
      }
      if (!fresh) return issue(session, '/');
      return withCookie(challenge(page(session), 'antibot.javascript', 200, { 'cache-control': 'no-store' }), session);
    };
    const page = (session: RequestSession): string => challengePage(uri, state(session).pending?.nonce ?? '', DIFFICULTY_BITS);
    const issue = async (session: RequestSession, returnTo: string): Promise<Verdict> => {
      state(session).pending = { nonce: randomBytes(16).toString('hex'), issuedAt: Date.now(), returnTo };
      await session.save();
      return withCookie(redirect(uri, `antibot.${mode}`, 302), session);
    };

    return {
      async onRequest(request) {
        if (request.exempt) return undefined;
        const loading = sessionOf(request);
        if (!loading) return undefined;
        const session = await loading;
        if (request.path === uri) return answerChallenge(request, session);
        if (passed(session)) return undefined;
        // Only a same-site path is kept to come back to.
        const returnTo = request.req.url?.startsWith('/') && !request.req.url.startsWith('//') ? request.req.url : '/';
        return issue(session, returnTo);
      },
      // Challenges are passed per browser session (a cookie), not per address.
      explain: () => [
        {
          effect: 'info' as const,
          rule: 'USE_ANTIBOT',
          detail: `a request without a session that solved the ${mode} challenge in the last ${Math.round(s.ANTIBOT_TIME_VALID / 1000)} s is sent to ${uri} first (per browser session, not per address)`,
        },
      ],
    };
  },
});
