import type { AddressInfo } from 'node:net';
import type { DestinationStream, Logger } from 'pino';
import { builtinPlugins } from '../plugins/index.js';
import { BanPolicy } from './admin/ban-policy.js';
import { AdminAuth } from './admin/auth.js';
import { banRoutes, createBanService } from './admin/bans-api.js';
import { banPageRoutes } from './admin/bans-page.js';
import { AdminServer } from './admin/server.js';
import { PalisadeError, coded } from './errors.js';
import { createLogger, describeError, flushLogger } from './log.js';
import { createCoreMetrics } from './metrics.js';
import { PluginHost } from './plugin/host.js';
import type { PluginDefinition } from './plugin/types.js';
import { createClientResolver } from './proxy/client-facts.js';
import { startDemoUpstream } from './proxy/demo-upstream.js';
import { createForwarder } from './proxy/forward.js';
import { ProxyServer } from './proxy/server.js';
import { parseListenAddress } from './settings/formats.js';
import type { Settings } from './settings/load.js';
import type { CoreSettings } from './settings/types.generated.js';
import { NodeStore } from './store/store.js';
import type { ClusterStore } from './store/types.js';

/** A running node: its bound addresses and the way to stop it. */
export interface RunningNode {
  readonly proxy: AddressInfo;
  readonly admin: AddressInfo;
  readonly upstream: URL;
  readonly log: Logger;
  readonly store: ClusterStore;
  /** Drains and closes everything; resolves true when in-flight requests finished in time. */
  stop(): Promise<boolean>;
}

export interface NodeOptions {
  settings: Settings;
  secrets?: Iterable<string>;
  plugins?: readonly PluginDefinition<any>[];
  logDestination?: DestinationStream;
}

/**
 * Boots one node from validated settings: logger → store → plugins → upstream → listeners.
 * Whatever was acquired is released again when a later step fails, so a failed boot
 * leaves nothing listening.
 */
export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const settings = options.settings as unknown as CoreSettings;
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
    const clients = createClientResolver({
      useRealIp: settings.USE_REAL_IP,
      trusted: settings.REAL_IP_FROM,
      header: settings.REAL_IP_HEADER,
      recursive: settings.REAL_IP_RECURSIVE,
    });
    const store = new NodeStore(settings.NODE_NAME, Date.now, settings.AUDIT_LOG_LENGTH);
    const metrics = createCoreMetrics(settings.NODE_NAME, store.metrics);
    releases.push(() => store.close());
    // Before the shared backend: the snapshot's bans are enforced at once, and the first
    // resync re-asserts those Redis lacks.
    if (settings.STATE_DIR !== '') await store.persistBans(settings.STATE_DIR, log);
    const host = new PluginHost(options.plugins ?? builtinPlugins, {
      settings: options.settings,
      log,
      store,
      metrics: metrics.registry,
      nodeName: settings.NODE_NAME,
      shareStore: (factory, owner) => store.attach(factory(store.local), owner),
      isLeader: (job, intervalMs) => store.isLeader(job, intervalMs),
    });
    releases.push(() => host.close());
    await host.provision();

    let upstream: URL;
    if (settings.REVERSE_PROXY_HOST === '') {
      const demo = await startDemoUpstream();
      releases.push(() => demo.close());
      upstream = demo.url;
      log.info({ upstream: upstream.href }, 'REVERSE_PROXY_HOST is not set: serving the built-in demo upstream');
    } else {
      upstream = new URL(settings.REVERSE_PROXY_HOST);
    }
    const forwarder = createForwarder(upstream, settings.UPSTREAM_TIMEOUT, settings.MAX_CLIENT_SIZE);
    releases.push(() => forwarder.close());

    const proxy = new ProxyServer({ settings, host, store, metrics, log, forwarder, clients });
    let draining = false;
    const banService = createBanService(
      store,
      new BanPolicy({
        minPrefixV4: settings.BAN_MIN_PREFIX_IPV4,
        minPrefixV6: settings.BAN_MIN_PREFIX_IPV6,
        holdsTrustedProxy: (target) => clients.holdsTrustedProxy(target),
        protector: (target) => host.protector(target),
      }),
    );
    const adminAuth = new AdminAuth(settings.ADMIN_TOKEN, store.sessions);
    const admin = new AdminServer({
      log,
      metrics: metrics.registry,
      nodeName: settings.NODE_NAME,
      storeHealth: () => store.health(),
      storeReadiness: () => store.readiness(),
      isDraining: () => draining,
      pluginRoutes: host.routes,
      auth: adminAuth,
      coreRoutes: [...banRoutes(store, banService), ...banPageRoutes(banService, store.audit, adminAuth, settings.NODE_NAME)],
    });
    const adminAddress = parseListenAddress(settings.ADMIN_LISTEN)!;
    const adminBound = await listenOrExplain(() => admin.listen(adminAddress.port, adminAddress.host), settings.ADMIN_LISTEN);
    releases.push(() => admin.close());
    const proxyBound = await listenOrExplain(
      () => proxy.listen(settings.HTTP_PORT, settings.HTTP_ADDRESS),
      `${settings.HTTP_ADDRESS}:${settings.HTTP_PORT}`,
    );
    log.info(
      { proxy: proxyBound, admin: adminBound, upstream: upstream.origin, plugins: host.plugins, store: store.health().mode },
      'palisade is listening',
    );

    let stopping: Promise<boolean> | undefined;
    return {
      proxy: proxyBound,
      admin: adminBound,
      upstream,
      log,
      store,
      stop() {
        stopping ??= (async () => {
          draining = true;
          log.info({ inFlight: proxy.active }, 'draining');
          const inTime = await proxy.drain(settings.SHUTDOWN_TIMEOUT);
          if (!inTime) log.warn(coded('PAL_SHUTDOWN_TIMEOUT'), 'in-flight requests cut at SHUTDOWN_TIMEOUT');
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

async function listenOrExplain<T>(listen: () => Promise<T>, where: string): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? 'address already in use' : code === 'EADDRNOTAVAIL' ? 'address not available on this machine' : code === 'EACCES' ? 'permission denied' : describeError(error);
    throw new PalisadeError('PAL_LISTEN_FAILED', `cannot listen on ${where}: ${why}`, { cause: error });
  }
}
