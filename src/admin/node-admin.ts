import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { PluginHost } from '../plugin/host.js';
import type { ClientResolver } from '../proxy/client-facts.js';
import { listenOrExplain } from '../proxy/serve-requests.js';
import type { ReloadOutcome } from '../reload.js';
import { parseCredentials } from '../settings/credentials.js';
import { parseListenAddress } from '../settings/formats.js';
import type { SettingsRead } from '../settings/read.js';
import type { CoreSettings } from '../settings/types.generated.js';
import type { NodeStore } from '../store/store.js';
import { AdminAuth, bearerToken, credentialFor, type AdminAuthConfig } from './auth.js';
import { banRoutes, createBanService } from './bans-api.js';
import { banPageRoutes } from './bans-page.js';
import { createExplainer } from './explain.js';
import { AdminServer } from './server.js';

/** What the admin listener of a node is built from. */
export interface NodeAdminDependencies {
  settings: CoreSettings;
  /** The node's random seed (a `random` session secret derives from it). */
  nodeSeed: string;
  log: Logger;
  registry: Registry;
  store: NodeStore;
  host: PluginHost;
  /** The node's workers, if it has some: their metrics, readiness and list. */
  pool: NodeWorkers | undefined;
  /** Who the client is, as the proxy decides it (reloads change it). */
  clients: ClientResolver;
  /** True once SIGTERM started draining; false until the boot finished. */
  draining(): boolean;
  started(): boolean;
  reload(): Promise<ReloadOutcome>;
  /** Re-reads the settings: a bearer token not in force may be one a rotation just brought. */
  readSettings?: () => Promise<SettingsRead>;
}

/** What the admin listener reads of a node's workers. */
export interface NodeWorkers {
  /** Every worker's metrics, as prom-client JSON, for one scrape. */
  scrape(): Promise<unknown[]>;
  /** Ready while every slot has a ready worker. */
  readiness(): { ready: true } | { ready: false; reason: string };
  /** Each worker as `/api/workers` lists it. */
  describe(): unknown[];
  /** Resolves once every worker enforces the ban changes made so far (bounded). */
  enforced(): Promise<void>;
}

/** The node's admin listener, listening. */
export interface NodeAdmin {
  readonly address: AddressInfo;
  /** The reloaded settings the admin side reads: identities, the explainer's mode and status. */
  apply(settings: CoreSettings): void;
  close(): Promise<void>;
}

/**
 * The admin listener of a node — health, metrics, the ban API and page, explanations,
 * workers, the cluster view and reload — over the node's store, plugins and workers,
 * listening on `ADMIN_LISTEN`. Refuses to start (with the listener's error) when the
 * address cannot be bound.
 */
export async function startNodeAdmin(deps: NodeAdminDependencies): Promise<NodeAdmin> {
  const { settings, store, pool, nodeSeed } = deps;
  const banService = createBanService(store, store.policy, pool ? () => pool.enforced() : undefined);
  const auth = new AdminAuth(adminAuthConfig(settings, nodeSeed), store.sessions);
  let live = settings;
  const explain = createExplainer({
    bans: store.bans,
    view: (ban) => banService.view(ban),
    findings: (client) => deps.host.explain(client),
    trustedProxy: (ip) => deps.clients.holdsTrustedProxy(ip),
    settings: () => ({ mode: live.SECURITY_MODE, denyStatus: live.DENY_HTTP_STATUS }),
    nodeName: settings.NODE_NAME,
  });
  const admin = new AdminServer({
    log: deps.log,
    scrape: pool
      ? async () => AggregatorRegistry.aggregate([await deps.registry.getMetricsAsJSON(), ...(await pool.scrape())] as never).metrics()
      : () => deps.registry.metrics(),
    nodeName: settings.NODE_NAME,
    storeHealth: () => store.health(),
    storeReadiness: () => {
      const stored = store.readiness();
      return stored.ready && pool ? pool.readiness() : stored;
    },
    isDraining: deps.draining,
    isStarted: deps.started,
    pluginRoutes: deps.host.routes,
    auth,
    recordRefusal: (refusal) => store.recordRefusal(refusal),
    coreRoutes: [
      ...banRoutes(store, banService),
      ...banPageRoutes({
        service: banService,
        audit: store.audit,
        auth,
        nodeName: settings.NODE_NAME,
        tally: () => store.bans.tally(),
        cluster: () => store.clusterView(),
        explain,
        summaries: () => deps.host.summaries(),
      }),
      { method: 'GET', path: '/api/workers', handle: () => ({ json: { workers: pool?.describe() ?? [] } }) },
      { method: 'GET', path: '/api/cluster', handle: async () => ({ json: await store.clusterView() }) },
      {
        method: 'GET',
        path: '/api/explain',
        handle: async (request) => {
          const answer = await explain(request.query.get('ip') ?? '');
          return answer
            ? { json: answer }
            : { status: 400, json: { error: 'ip must be an IP address, like 198.51.100.23 or 2001:db8::1', code: 'PAL_BAD_REQUEST' } };
        },
      },
      {
        method: 'POST',
        path: '/api/reload',
        // An operator's token in force, or one the re-read settings carry: after a rotation
        // the caller (palisade reload) only knows the new one.
        public: true,
        role: 'operator',
        handle: async (request) => {
          if (!request.authorized) {
            // Only a bearer token not in force makes the node read its files (a rotation); no
            // token at all is refused at once.
            const bearer = bearerToken(request.headers.authorization);
            const fresh = bearer === undefined ? undefined : (await deps.readSettings?.())?.result;
            const known =
              fresh?.ok && bearer !== undefined
                ? credentialFor(adminAuthConfig(fresh.settings as unknown as CoreSettings, nodeSeed).credentials, bearer)
                : undefined;
            if (known?.role !== 'operator') {
              return {
                status: 401,
                headers: { 'www-authenticate': 'Bearer' },
                json: { error: "missing or wrong bearer token (an operator's)", code: 'PAL_ADMIN_UNAUTHORIZED' },
              };
            }
          }
          const outcome = await deps.reload();
          return outcome.applied
            ? { json: outcome }
            : { status: 422, json: { error: 'reload rejected: the node keeps its previous settings', code: 'PAL_RELOAD_REJECTED', errors: outcome.errors } };
        },
      },
    ],
  });
  const listen = parseListenAddress(settings.ADMIN_LISTEN)!;
  const address = await listenOrExplain(() => admin.listen(listen.port, listen.host), settings.ADMIN_LISTEN);
  return {
    address,
    apply(next) {
      live = next;
      auth.rotate(adminAuthConfig(next, nodeSeed));
    },
    close: () => admin.close(),
  };
}

/**
 * The admin listener's identities from the settings. The auth proxy's CSRF values are keyed
 * by the session secret the nodes share (required with Redis); left at `random`, by a secret
 * of this node's own seed — never by a constant anyone could compute the values from.
 */
function adminAuthConfig(settings: CoreSettings, nodeSeed: string): AdminAuthConfig {
  const sessionsSecret = String((settings as unknown as Record<string, unknown>).SESSIONS_SECRET ?? '');
  return {
    credentials: parseCredentials(settings.ADMIN_TOKENS, settings.ADMIN_TOKEN).credentials,
    proxyFrom: settings.ADMIN_AUTH_PROXY_FROM,
    proxyRoles: settings.ADMIN_AUTH_PROXY_ROLES,
    proxyUserHeader: settings.ADMIN_AUTH_PROXY_USER_HEADER,
    proxyGroupsHeader: settings.ADMIN_AUTH_PROXY_GROUPS_HEADER,
    csrfSecret:
      sessionsSecret === '' || sessionsSecret === 'random' ? createHmac('sha256', nodeSeed).update('admin-proxy-csrf').digest('base64url') : sessionsSecret,
  };
}
