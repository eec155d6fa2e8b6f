import type { SessionsSettings } from '../../src/settings/types.generated.js';
import { agentFingerprint, newSessionId, readCookie, signSessionId, verifySessionCookie } from './cookie.js';
import { SESSION, definePlugin, loadManifest, type RequestContext, type RequestSession, type SessionRecord } from '../../src/plugin/index.js';

/** Where a request's loaded session waits for `onSend` to add its cookie. */
const SAVED = Symbol('palisade.sessions.loaded');

/** Session data fields this plugin owns; plugins keep their own data under their id. */
interface Binding {
  _ip?: string;
  _ua?: string;
}

/**
 * Sessions: a signed cookie carries a random id; the data lives in the store (Redis when
 * shared, so a session made on one node is valid on every node). A tampered or foreign
 * cookie, an expired session, or — with the checks on — another IP or User-Agent simply
 * means a fresh session, never an error. Loaded lazily through `sessionOf(ctx)`.
 */
export default definePlugin<SessionsSettings>({
  manifest: loadManifest('sessions'),
  checkSettings(settings, valid) {
    const shared = (settings as unknown as { USE_REDIS?: boolean }).USE_REDIS === true;
    if (shared && valid('SESSIONS_SECRET') && settings.SESSIONS_SECRET === 'random') {
      return [
        {
          name: 'SESSIONS_SECRET',
          message: 'must be set (32+ characters, the same on every node) with USE_REDIS=yes: a per-node random secret breaks sessions across nodes',
        },
      ];
    }
    return [];
  },
  provision(ctx) {
    const s = ctx.settings;
    const secret = s.SESSIONS_SECRET === 'random' ? ctx.nodeSecret('sessions') : s.SESSIONS_SECRET;
    if (s.SESSIONS_SECRET === 'random' && ctx.duties.node) ctx.log.info('SESSIONS_SECRET=random: sessions end when this node restarts');
    const name = s.SESSIONS_NAME;

    const load = async (request: RequestContext): Promise<RequestSession> => {
      // The core believes X-Forwarded-Proto only from a trusted proxy: a client cannot turn Secure off or on.
      const secure = request.scheme === 'https';
      const ua = agentFingerprint(request.req.headers['user-agent']);
      const id = ((): string | undefined => {
        const raw = readCookie(request.req.headers.cookie, name);
        return raw === undefined ? undefined : verifySessionCookie(raw, secret);
      })();
      let record: SessionRecord | undefined = id === undefined ? undefined : await ctx.store.sessions.get(id, s.SESSIONS_IDLING_TIMEOUT);
      const binding = record?.data as Binding | undefined;
      if (record && ((s.SESSIONS_CHECK_IP && binding?._ip !== request.clientIp) || (s.SESSIONS_CHECK_USER_AGENT && binding?._ua !== ua))) record = undefined;
      const now = Date.now();
      const isNew = record === undefined;
      const sessionId = isNew ? newSessionId() : (id as string);
      const current: SessionRecord = record ?? {
        data: { _ip: request.clientIp, _ua: ua },
        createdAt: now,
        absoluteExpiresAt: now + s.SESSIONS_ABSOLUTE_TIMEOUT,
      };
      let cookieDue = false;
      const cookie = (): string => {
        const maxAge = Math.max(1, Math.floor(Math.min(s.SESSIONS_ROLLING_TIMEOUT, current.absoluteExpiresAt - Date.now()) / 1000));
        return `${name}=${signSessionId(sessionId, secret)}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
      };
      const session: RequestSession = {
        id: sessionId,
        data: current.data,
        isNew,
        async save() {
          await ctx.store.sessions.set(sessionId, current, s.SESSIONS_IDLING_TIMEOUT);
          cookieDue = true;
        },
        cookie: () => (cookieDue ? cookie() : undefined),
      };
      request.locals.set(SAVED, session);
      return session;
    };

    return {
      // One loader for every request; it runs only when a plugin asks for the session.
      onRequest(request) {
        request.locals.set(SESSION, load);
      },
      onSend(request, response) {
        const session = request.locals.get(SAVED) as RequestSession | undefined;
        const value = session?.cookie();
        if (!value) return;
        const existing = response.headers['set-cookie'];
        response.headers['set-cookie'] = existing === undefined ? [value] : [...(Array.isArray(existing) ? existing : [existing]), value];
      },
    };
  },
});
