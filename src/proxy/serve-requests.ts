import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { PalisadeError } from '../errors.js';
import { describeError } from '../log.js';
import { createRequestMetrics } from '../metrics.js';
import type { PluginHost } from '../plugin/host.js';
import type { CoreSettings } from '../settings/types.generated.js';
import type { ClusterStore } from '../store/types.js';
import { clientResolverFor, type ClientResolver } from './client-facts.js';
import { createForwarder } from './forward.js';
import { ProxyServer } from './server.js';

export interface RequestSideOptions {
  settings: CoreSettings;
  log: Logger;
  store: ClusterStore;
  host: PluginHost;
  registry: Registry;
  upstream: URL;
  /** Who the client is (default: from `settings`); a one-process node passes its own, which reloads change. */
  clients?: ClientResolver;
}

/** A process serving the proxy port. */
export interface RequestSide {
  readonly address: AddressInfo;
  /** Requests being handled right now. */
  readonly active: number;
  /** Stops accepting, lets in-flight requests finish up to `timeoutMs`; true when they all did (`gentle`: see `ProxyServer.drain`). */
  drain(timeoutMs: number, gentle?: boolean): Promise<boolean>;
  /** Closes the upstream connections (after {@link drain}). */
  close(): Promise<void>;
}

/**
 * The request side of a node — forwarder, pipeline and proxy listener — in the process
 * that serves requests: a worker, or the only process with `WORKERS=0`.
 */
export async function serveRequests(options: RequestSideOptions): Promise<RequestSide> {
  const { settings, log, store, host } = options;
  const clients = options.clients ?? clientResolverFor(settings);
  const metrics = createRequestMetrics(options.registry, store.metrics);
  const forwarder = createForwarder(options.upstream, settings.UPSTREAM_TIMEOUT, settings.MAX_CLIENT_SIZE);
  const proxy = new ProxyServer({ settings, host, store, metrics, log, forwarder, clients });
  let address: AddressInfo;
  try {
    address = await listenOrExplain(() => proxy.listen(settings.HTTP_PORT, settings.HTTP_ADDRESS), `${settings.HTTP_ADDRESS}:${settings.HTTP_PORT}`);
  } catch (error) {
    await forwarder.close();
    throw error;
  }
  return {
    address,
    get active() {
      return proxy.active;
    },
    drain: (timeoutMs, gentle) => proxy.drain(timeoutMs, gentle),
    close: () => forwarder.close(),
  };
}

/** `listen()`, with the failure said in words (PAL_LISTEN_FAILED). */
export async function listenOrExplain<T>(listen: () => Promise<T>, where: string): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? 'address already in use'
        : code === 'EADDRNOTAVAIL'
          ? 'address not available on this machine'
          : code === 'EACCES'
            ? 'permission denied'
            : describeError(error);
    throw new PalisadeError('PAL_LISTEN_FAILED', `cannot listen on ${where}: ${why}`, { cause: error });
  }
}
