import { createHmac, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { AggregatorRegistry, Counter } from 'prom-client';
import type { DestinationStream, Logger } from 'pino';
import { builtinPlugins } from '../plugins/index.js';
import { AdminAuth, bearerToken, credentialFor, type AdminAuthConfig } from './admin/auth.js';
import { parseCredentials } from './admin/credentials.js';
import { createExplainer } from './admin/explain.js';
import { banRoutes, createBanService } from './admin/bans-api.js';
import { banPageRoutes } from './admin/bans-page.js';
import { AdminServer } from './admin/server.js';
import { coded } from './errors.js';
import { createLogger, describeError, flushLogger } from './log.js';
import { createRegistry, registerClusterTotals } from './metrics.js';
import { PluginHost } from './plugin/host.js';
import type { PluginDefinition } from './plugin/types.js';
import { clientResolverFor, type ClientResolver } from './proxy/client-facts.js';
import { startDemoUpstream } from './proxy/demo-upstream.js';
import { listenOrExplain, serveRequests, type RequestSide } from './proxy/serve-requests.js';
import { parseListenAddress, parseWorkerCount } from './settings/formats.js';
import type { Settings } from './settings/load.js';
import { lostFiles, type SettingsRead } from './settings/read.js';
import { settingsSpec } from './settings/catalog.js';
import { formatSettingError } from './settings/errors.js';
import { planReload } from './reload.js';
import type { CoreSettings } from './settings/types.generated.js';
import type { BanPolicyOptions } from './store/ban-policy.js';
import { watchBanRefusals } from './store/ban-refusals.js';
import { NodeStore } from './store/store.js';
import { stdoutLog } from './stdout-log.js';
import { WorkerPool } from './workers/pool.js';

/** A running node: its bound addresses and the way to stop it. */
export interface RunningNode {
  readonly proxy: AddressInfo;
  readonly admin: AddressInfo;
  readonly upstream: URL;
  readonly log: Logger;
  /** The node's store (the primary's, with workers). */
  readonly store: NodeStore;
  /** Drains and closes everything; resolves true when in-flight requests finished in time. */
  stop(): Promise<boolean>;
  /**
   * Re-reads the settings and applies them (`SIGHUP`, `palisade reload`): invalid ones are
   * refused and the node keeps its settings; otherwise workers are replaced one at a time
   * and the primary applies its own (see {@link ReloadOutcome}). Reloads run one at a time.
   */
  reload(): Promise<ReloadOutcome>;
}

/** What a reload did. */
export type ReloadOutcome =
  | { applied: true; changed: string[]; restartNeeded: string[] }
  | { applied: false; errors: Array<{ name: string; message: string }> };

export interface NodeOptions {
  settings: Settings;
  secrets?: Iterable<string>;
  /** Plugins instead of the built-in ones (tests); only with `WORKERS=0`. */
  plugins?: readonly PluginDefinition<any>[];
  logDestination?: DestinationStream;
  /** Reads the settings again (the environment, `.env`, every `*_FILE`), for reloads. */
  readSettings?: () => SettingsRead;
  /** What the node was started from: a reload that can no longer read one of its files is refused. */
  startedWith?: SettingsRead;
}

/**
 * Boots one node from validated settings: logger → store → plugins → upstream → admin
 * listener → the request side: its workers (`WORKERS`), or this process itself with
 * `WORKERS=0`. Whatever was acquired is released again when a later step fails, so a
 * failed boot leaves nothing listening.
 */
export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const settings = options.settings as unknown as CoreSettings;
  const workers = workerCount(settings.WORKERS);
  // Workers load the built-in plugins themselves: a list given here exists in this process only.
  if (options.plugins && workers > 0) throw new Error('a node with its own plugin list runs in one process (WORKERS=0)');
  if (workers > 0) stdoutLog().shared = true;
  const log = createLogger({
    level: settings.LOG_LEVEL,
    nodeName: settings.NODE_NAME,
    secretSettings: options.secrets ?? [],
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  const releases: Array<() => Promise<unknown> | unknown> = [];
  const releaseAll = async (): Promise<void> => {
    while (releases.length > 0) {
      try {
        await releases.pop()!();
      } catch (error) {
        log.warn({ err: describeError(error) }, 'release failed during stop');
      }
    }
  };

  try {
    // Who the client is, decided once for the proxy and the ban API alike.
    let clients = clientResolverFor(settings);
    // What the request side of a one-process node reads: the resolver in force, across reloads.
    const liveClients: ClientResolver = { resolve: (req) => clients.resolve(req), holdsTrustedProxy: (target) => clients.holdsTrustedProxy(target) };
    const store = new NodeStore(settings.NODE_NAME, Date.now, settings.AUDIT_LOG_LENGTH);
    const registry = createRegistry(settings.NODE_NAME);
    registerClusterTotals(registry, store.metrics);
    // The one ban policy, in force before the snapshot's bans are read; the whitelist's
    // protection joins once the plugins are provisioned.
    let protector: (target: string) => string | undefined = () => undefined;
    const policyFor = (s: CoreSettings): BanPolicyOptions => ({
      minPrefixV4: s.BAN_MIN_PREFIX_IPV4,
      minPrefixV6: s.BAN_MIN_PREFIX_IPV6,
      holdsTrustedProxy: (target) => liveClients.holdsTrustedProxy(target),
      protector: (target) => protector(target),
    });
    store.policy.update(policyFor(settings));
    watchBanRefusals(store.policy, registry, log);
    releases.push(() => store.close());
    // Before the shared backend: the snapshot's bans are enforced at once, and the first
    // resync re-asserts those Redis lacks.
    if (settings.STATE_DIR !== '') await store.persistBans(settings.STATE_DIR, log);
    // The node's random seed: its workers get it, so `random` secrets agree across them.
    const nodeSeed = randomBytes(32).toString('base64url');
    const host = new PluginHost(options.plugins ?? builtinPlugins, {
      settings: options.settings,
      log,
      store,
      metrics: registry,
      nodeName: settings.NODE_NAME,
      nodeSeed,
      duties: { node: true, requests: workers === 0 },
      shareStore: (factory, owner) => store.attach(factory(store.local), owner),
      isLeader: (job, intervalMs) => store.isLeader(job, intervalMs),
    });
    releases.push(() => host.close());
    await host.provision();
    protector = (target) => host.protector(target);

    let upstream: URL;
    // The upstream a worker forwards to: the setting, or the demo upstream when it is empty.
    const upstreamOf = (s: Settings): string => (String(s.REVERSE_PROXY_HOST) === '' ? upstream.href : String(s.REVERSE_PROXY_HOST));
    if (settings.REVERSE_PROXY_HOST === '') {
      const demo = await startDemoUpstream();
      releases.push(() => demo.close());
      upstream = demo.url;
      log.info({ upstream: upstream.href }, 'REVERSE_PROXY_HOST is not set: serving the built-in demo upstream');
    } else {
      upstream = new URL(settings.REVERSE_PROXY_HOST);
    }

    const pool =
      workers === 0
        ? undefined
        : new WorkerPool({
            count: workers,
            store,
            log,
            registry,
            shutdownTimeoutMs: settings.SHUTDOWN_TIMEOUT,
            init: (slot) => ({ slot, settings: { ...options.settings }, secrets: [...(options.secrets ?? [])], upstream: upstreamOf(options.settings), nodeSeed, health: store.health() }),
          });
    if (pool) store.describeWorkers = () => pool.summary();
    let draining = false;
    let started = false;
    const policy = store.policy;
    const banService = createBanService(store, policy);
    const adminAuth = new AdminAuth(adminAuthConfig(settings, nodeSeed), store.sessions);
    // The settings in force (a reload replaces them).
    let live = settings;
    const explain = createExplainer({
      bans: store.bans,
      view: (ban) => banService.view(ban),
      findings: (client) => host.explain(client),
      trustedProxy: (ip) => liveClients.holdsTrustedProxy(ip),
      settings: () => ({ mode: live.SECURITY_MODE, denyStatus: live.DENY_HTTP_STATUS }),
      nodeName: settings.NODE_NAME,
    });
    const admin = new AdminServer({
      log,
      scrape: pool ? async () => AggregatorRegistry.aggregate([await registry.getMetricsAsJSON(), ...(await pool.scrape())] as never).metrics() : () => registry.metrics(),
      nodeName: settings.NODE_NAME,
      storeHealth: () => store.health(),
      storeReadiness: () => {
        const stored = store.readiness();
        return stored.ready && pool ? pool.readiness() : stored;
      },
      isDraining: () => draining,
      isStarted: () => started,
      pluginRoutes: host.routes,
      auth: adminAuth,
      recordRefusal: (refusal) => store.recordRefusal(refusal),
      coreRoutes: [
        ...banRoutes(store, banService),
        ...banPageRoutes({
          service: banService,
          audit: store.audit,
          auth: adminAuth,
          nodeName: settings.NODE_NAME,
          tally: () => store.bans.tally(),
          cluster: () => store.clusterView(),
          explain,
        }),
        { method: 'GET', path: '/api/workers', handle: () => ({ json: { workers: pool?.describe() ?? [] } }) },
        { method: 'GET', path: '/api/cluster', handle: async () => ({ json: await store.clusterView() }) },
        {
          method: 'GET',
          path: '/api/explain',
          handle: async (request) => {
            const answer = await explain(request.query.get('ip') ?? '');
            return answer ? { json: answer } : { status: 400, json: { error: 'ip must be an IP address, like 198.51.100.23 or 2001:db8::1', code: 'PAL_BAD_REQUEST' } };
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
              const fresh = bearer === undefined ? undefined : options.readSettings?.().result;
              const known = fresh?.ok && bearer !== undefined ? credentialFor(adminAuthConfig(fresh.settings as unknown as CoreSettings, nodeSeed).credentials, bearer) : undefined;
              if (known?.role !== 'operator') {
                return { status: 401, headers: { 'www-authenticate': 'Bearer' }, json: { error: 'missing or wrong bearer token (an operator\'s)', code: 'PAL_ADMIN_UNAUTHORIZED' } };
              }
            }
            const outcome = await reload();
            return outcome.applied ? { json: outcome } : { status: 422, json: { error: 'reload rejected: the node keeps its previous settings', code: 'PAL_RELOAD_REJECTED', errors: outcome.errors } };
          },
        },
      ],
    });
    const adminAddress = parseListenAddress(settings.ADMIN_LISTEN)!;
    const adminBound = await listenOrExplain(() => admin.listen(adminAddress.port, adminAddress.host), settings.ADMIN_LISTEN);
    releases.push(() => admin.close());

    let side: RequestSide | undefined;
    let proxyBound: AddressInfo;
    if (pool) {
      // Stopped (drained) by stop() before the releases run; a failed start stops its own.
      proxyBound = await pool.start();
    } else {
      side = await serveRequests({ settings, log, store, host, registry, upstream, clients: liveClients });
      const served = side;
      releases.push(() => served.close());
      proxyBound = side.address;
    }
    log.info(
      { proxy: proxyBound, admin: adminBound, upstream: upstream.origin, plugins: host.plugins, store: store.health().mode, workers },
      'palisade is listening',
    );
    started = true;

    let current = { settings: options.settings, secrets: [...(options.secrets ?? [])] };
    const reloads = new Counter({
      name: 'palisade_reloads_total',
      help: 'Reloads (SIGHUP, palisade reload), by result: applied, unchanged, rejected.',
      labelNames: ['result'] as const,
      registers: [registry],
    });
    const refuse = (errors: Array<{ name: string; message: string }>): ReloadOutcome => {
      reloads.labels('rejected').inc();
      return { applied: false, errors };
    };
    const runReload = async (): Promise<ReloadOutcome> => {
      const read = options.readSettings?.();
      if (!read) return refuse([{ name: '', message: 'this node cannot re-read its settings' }]);
      const loaded = read.result;
      const problems = [...(loaded.ok ? [] : loaded.errors), ...(options.startedWith ? lostFiles(options.startedWith, read) : [])];
      if (!loaded.ok || problems.length > 0) {
        for (const error of problems) {
          log.error(coded('PAL_RELOAD_REJECTED', { setting: error.name, error: formatSettingError(error) }), 'reload rejected: invalid setting; the node keeps its previous settings');
        }
        return refuse(problems.map((error) => ({ name: error.name, message: formatSettingError(error) })));
      }
      const plan = planReload(current.settings, loaded.settings, settingsSpec(options.plugins ?? builtinPlugins).manifests, workers);
      if (plan.restartNeeded.length > 0) {
        log.warn(coded('PAL_RELOAD_NEEDS_RESTART', { settings: plan.restartNeeded }), `reload: ${plan.restartNeeded.join(', ')} changed and take effect at the next start`);
      }
      const applying = plan.changed.filter((name) => !plan.restartNeeded.includes(name));
      if (applying.length === 0) {
        log.info({ restartNeeded: plan.restartNeeded }, 'reload: nothing to apply');
        reloads.labels('unchanged').inc();
        return { applied: true, changed: [], restartNeeded: plan.restartNeeded };
      }
      const next = plan.effective;
      const secrets = [...loaded.secrets];
      if (pool) {
        try {
          await pool.replaceAll((slot) => ({ slot, settings: { ...next }, secrets, upstream: upstreamOf(next), nodeSeed, health: store.health() }));
        } catch (error) {
          log.error(coded('PAL_RELOAD_REJECTED', { err: describeError(error) }), 'reload rejected: a worker could not start with the new settings; the node keeps its previous settings');
          return refuse([{ name: '', message: describeError(error) }]);
        }
      }
      const s = next as unknown as CoreSettings;
      live = s;
      log.level = s.LOG_LEVEL;
      adminAuth.rotate(adminAuthConfig(s, nodeSeed));
      clients = clientResolverFor(s);
      policy.update(policyFor(s));
      try {
        await host.reconfigure(next, new Set(applying));
      } catch (error) {
        log.error(coded('PAL_PLUGIN_PROVISION_FAILED', { err: describeError(error) }), 'a plugin failed with the reloaded settings and keeps its previous ones');
      }
      current = { settings: next, secrets };
      log.info({ changed: applying, restartNeeded: plan.restartNeeded, workers }, 'reloaded');
      reloads.labels('applied').inc();
      return { applied: true, changed: applying, restartNeeded: plan.restartNeeded };
    };
    let reloading: Promise<ReloadOutcome> = Promise.resolve({ applied: true, changed: [], restartNeeded: [] });
    // Whatever fails in a reload refuses it: the node keeps its settings, and a SIGHUP never
    // leaves a rejection behind.
    const guardedReload = (): Promise<ReloadOutcome> =>
      runReload().catch((error: unknown) => {
        log.error(coded('PAL_RELOAD_REJECTED', { err: describeError(error) }), 'reload rejected; the node keeps its previous settings');
        return refuse([{ name: '', message: describeError(error) }]);
      });
    // One at a time; a reload asked for during another re-reads the files after it.
    const reload = (): Promise<ReloadOutcome> => (reloading = reloading.then(guardedReload, guardedReload));

    let stopping: Promise<boolean> | undefined;
    return {
      reload,
      proxy: proxyBound,
      admin: adminBound,
      upstream,
      log,
      store,
      stop() {
        stopping ??= (async () => {
          draining = true;
          log.info({ inFlight: side?.active, workers }, 'draining');
          const inTime = side ? await side.drain(settings.SHUTDOWN_TIMEOUT) : await pool!.drain();
          if (!inTime && side) log.warn(coded('PAL_SHUTDOWN_TIMEOUT'), 'in-flight requests cut at SHUTDOWN_TIMEOUT');
          await store.flushMetrics(); // the last deltas, while Redis is still connected
          await releaseAll();
          log.info('stopped');
          flushLogger(log);
          return inTime;
        })();
        return stopping;
      },
    };
  } catch (error) {
    await releaseAll();
    flushLogger(log);
    throw error;
  }
}

/** The number of workers `WORKERS` asks for on this machine (`auto`: one per CPU). */
export function workerCount(setting: string): number {
  const parsed = parseWorkerCount(setting);
  return parsed === 'auto' ? availableParallelism() : (parsed ?? 0);
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
    csrfSecret: sessionsSecret === '' || sessionsSecret === 'random' ? createHmac('sha256', nodeSeed).update('admin-proxy-csrf').digest('base64url') : sessionsSecret,
  };
}
