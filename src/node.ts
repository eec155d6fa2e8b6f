import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import type { DestinationStream, Logger } from 'pino';
import { builtinPlugins } from '../plugins/index.js';
import { startNodeAdmin } from './admin/node-admin.js';
import { coded } from './errors.js';
import { createLogger, describeError, flushLogger } from './log.js';
import { createRegistry, registerClusterTotals } from './metrics.js';
import type { Registry } from 'prom-client';
import { fileFingerprintsOf, settingsSpec } from './plugin/catalog.js';
import { PluginHost } from './plugin/host.js';
import type { PluginDefinition } from './plugin/types.js';
import { clientResolverFor, type ClientResolver } from './proxy/client-facts.js';
import { startDemoUpstream } from './proxy/demo-upstream.js';
import { serveRequests } from './proxy/serve-requests.js';
import { createReloader, type ReloadOutcome } from './reload.js';
import { parseWorkerCount } from './settings/formats.js';
import type { Settings } from './settings/load.js';
import type { SettingsRead } from './settings/read.js';
import type { CoreSettings } from './settings/types.generated.js';
import type { BanPolicyOptions } from './store/ban-policy.js';
import { watchBanRefusals } from './store/ban-refusals.js';
import { registerLeaseMetrics } from './store/lease-metrics.js';
import { NodeStore } from './store/store.js';
import { stdoutLog } from './stdout-log.js';
import { WorkerPool, type PoolOptions } from './workers/pool.js';
import type { WorkerInit } from './workers/protocol.js';

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

export type { ReloadOutcome };

export interface NodeOptions {
  settings: Settings;
  secrets?: Iterable<string>;
  /** Plugins instead of the built-in ones (tests); only with `WORKERS=0`. */
  plugins?: readonly PluginDefinition<any>[];
  logDestination?: DestinationStream;
  /** Reads the settings again (the environment, `.env`, every `*_FILE`), for reloads. */
  readSettings?: () => Promise<SettingsRead>;
  /** What the node was started from: a reload that can no longer read one of its files is refused. */
  startedWith?: SettingsRead;
}

/**
 * Boots one node from validated settings, in steps, each release registered right after its
 * acquire: logger → client facts → store (its ban policy, its snapshot) → plugins → upstream
 * → workers → admin listener → the request side (its workers, or this process itself with
 * `WORKERS=0`) → reload. A step that fails releases what the steps before it acquired, so a
 * failed boot leaves nothing listening.
 */
export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const settings = options.settings as unknown as CoreSettings;
  const plugins = options.plugins ?? builtinPlugins;
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
  const releases = new Releases(log);
  try {
    // Who the client is, decided once for the proxy and the ban API alike; a reload replaces it.
    let clients = clientResolverFor(settings);
    const liveClients: ClientResolver = { resolve: (req) => clients.resolve(req), holdsTrustedProxy: (target) => clients.holdsTrustedProxy(target) };

    let protector: (target: string) => string | undefined = () => undefined;
    const policyFor = (s: CoreSettings): BanPolicyOptions => ({
      minPrefixV4: s.BAN_MIN_PREFIX_IPV4,
      minPrefixV6: s.BAN_MIN_PREFIX_IPV6,
      holdsTrustedProxy: (t) => liveClients.holdsTrustedProxy(t),
      protector: (t) => protector(t),
    });
    const { store, registry } = await storeFor(settings, policyFor(settings), log, releases);

    // The plugins; the node's random seed goes to its workers, so `random` secrets agree across them.
    const nodeSeed = randomBytes(32).toString('base64url');
    const host = await pluginsFor(plugins, options.settings, { log, store, registry, nodeSeed, requests: workers === 0 }, releases);
    protector = (target) => host.protector(target);

    const upstream = await upstreamFor(settings, log, releases);
    const initOf = workerInitOf(upstream, nodeSeed, store);
    // Stopped (drained) by stop() before the releases run; a failed start stops its own.
    const pool = workerPoolFor(workers, {
      store,
      log,
      registry,
      host,
      shutdownTimeoutMs: settings.SHUTDOWN_TIMEOUT,
      init: initOf(options.settings, [...(options.secrets ?? [])]),
    });
    store.describeFingerprints = () => host.fingerprints();

    const state = { draining: false, started: false };
    const reload = createReloader({
      log,
      registry,
      workers,
      manifests: settingsSpec(plugins).manifests,
      fileFingerprints: (s: Settings) => fileFingerprintsOf(plugins, s),
      initial: { settings: options.settings, secrets: [...(options.secrets ?? [])] },
      ...(options.readSettings ? { readSettings: options.readSettings } : {}),
      ...(options.startedWith ? { startedWith: options.startedWith } : {}),
      ...(pool ? { replaceWorkers: (next: Settings, secrets: string[]) => pool.replaceAll(initOf(next, secrets)) } : {}),
      async apply(next, changed) {
        const s = next as unknown as CoreSettings;
        log.level = s.LOG_LEVEL;
        admin.apply(s);
        clients = clientResolverFor(s);
        store.policy.update(policyFor(s));
        await host.reconfigure(next, changed).catch((error: unknown) => {
          log.error(
            coded('PAL_PLUGIN_PROVISION_FAILED', { err: describeError(error) }),
            'a plugin failed with the reloaded settings and keeps its previous ones',
          );
        });
      },
    });

    const admin = await startNodeAdmin({
      settings,
      nodeSeed,
      log,
      registry,
      store,
      host,
      pool,
      clients: liveClients,
      draining: () => state.draining,
      started: () => state.started,
      reload,
      ...(options.readSettings ? { readSettings: options.readSettings } : {}),
    });
    releases.add(() => admin.close());

    const side = pool ? undefined : await serveRequests({ settings, log, store, host, registry, upstream, clients: liveClients });
    if (side) releases.add(() => side.close());
    const proxyBound = side ? side.address : await pool!.start();
    log.info(
      { proxy: proxyBound, admin: admin.address, upstream: upstream.origin, plugins: host.plugins, store: store.health().mode, workers },
      'palisade is listening',
    );
    state.started = true;

    let stopping: Promise<boolean> | undefined;
    const stop = async (): Promise<boolean> => {
      state.draining = true;
      log.info({ inFlight: side?.active, workers }, 'draining');
      const inTime = side ? await side.drain(settings.SHUTDOWN_TIMEOUT) : await pool!.drain();
      if (!inTime && side) log.warn(coded('PAL_SHUTDOWN_TIMEOUT'), 'in-flight requests cut at SHUTDOWN_TIMEOUT');
      await store.flushMetrics(); // the last deltas, while Redis is still connected
      await releases.releaseAll();
      log.info('stopped');
      flushLogger(log);
      return inTime;
    };
    return { reload, proxy: proxyBound, admin: admin.address, upstream, log, store, stop: () => (stopping ??= stop()) };
  } catch (error) {
    await releases.releaseAll();
    flushLogger(log);
    throw error;
  }
}

/** What a worker is told, by settings and their secrets: the settings, the upstream (the demo's when none is set), the node's seed. */
function workerInitOf(upstream: URL, nodeSeed: string, store: NodeStore): (settings: Settings, secrets: string[]) => (slot: number) => WorkerInit {
  return (settings, secrets) => (slot) => ({
    slot,
    settings: { ...settings },
    secrets,
    upstream: String(settings.REVERSE_PROXY_HOST) || upstream.href,
    nodeSeed,
    health: store.health(),
  });
}

/** The node's plugins, provisioned (`requests`: this process serves requests too, `WORKERS=0`). */
async function pluginsFor(
  plugins: readonly PluginDefinition<any>[],
  settings: Settings,
  deps: { log: Logger; store: NodeStore; registry: Registry; nodeSeed: string; requests: boolean },
  releases: Releases,
): Promise<PluginHost> {
  const { log, store, registry, nodeSeed, requests } = deps;
  const host = new PluginHost(plugins, {
    settings,
    log,
    store,
    metrics: registry,
    nodeName: String(settings.NODE_NAME),
    nodeSeed,
    duties: { node: true, requests },
    shareStore: (factory, owner) => store.attach(factory(store.local), owner),
    isLeader: (job, intervalMs) => store.isLeader(job, intervalMs),
  });
  releases.add(() => host.close());
  await host.provision();
  return host;
}

/**
 * The node's store, with its one ban policy in force before the snapshot's bans are read
 * (the whitelist's protection joins once the plugins are provisioned), then the snapshot:
 * enforced at once, and the first resync re-asserts what Redis lacks; and the node's metrics
 * registry with the store's series.
 */
async function storeFor(settings: CoreSettings, policy: BanPolicyOptions, log: Logger, releases: Releases): Promise<{ store: NodeStore; registry: Registry }> {
  const store = new NodeStore(settings.NODE_NAME, Date.now, settings.AUDIT_LOG_LENGTH);
  releases.add(() => store.close());
  const registry = createRegistry(settings.NODE_NAME);
  registerClusterTotals(registry, store.metrics);
  store.policy.update(policy);
  watchBanRefusals(store.policy, registry, log);
  registerLeaseMetrics(registry, store.counters.leaseCounts);
  if (settings.STATE_DIR !== '') await store.persistBans(settings.STATE_DIR, log);
  return { store, registry };
}

/**
 * The node's workers (none with `WORKERS=0`): the pool, its summary in the node's heartbeat,
 * and the plugins' notes from its workers handed to the plugins here.
 */
function workerPoolFor(count: number, deps: Omit<PoolOptions, 'count' | 'onNotes'> & { host: PluginHost }): WorkerPool | undefined {
  if (count === 0) return undefined;
  const { host, ...options } = deps;
  const pool = new WorkerPool({
    ...options,
    count,
    onNotes: (notes) => {
      for (const [plugin, note] of notes) host.deliverNote(plugin, note);
    },
  });
  deps.store.describeWorkers = () => pool.summary();
  return pool;
}

/** What a node acquired, released in reverse order; a release that fails is logged and the rest still run. */
class Releases {
  private readonly list: Array<() => Promise<unknown> | unknown> = [];

  constructor(private readonly log: Logger) {}

  add(release: () => Promise<unknown> | unknown): void {
    this.list.push(release);
  }

  async releaseAll(): Promise<void> {
    while (this.list.length > 0) {
      try {
        await this.list.pop()!();
      } catch (error) {
        this.log.warn({ err: describeError(error) }, 'release failed during stop');
      }
    }
  }
}

/** The upstream: `REVERSE_PROXY_HOST`, or the built-in demo upstream when it is empty (released with the node). */
async function upstreamFor(settings: CoreSettings, log: Logger, releases: Releases): Promise<URL> {
  if (settings.REVERSE_PROXY_HOST !== '') return new URL(settings.REVERSE_PROXY_HOST);
  const demo = await startDemoUpstream();
  releases.add(() => demo.close());
  log.info({ upstream: demo.url.href }, 'REVERSE_PROXY_HOST is not set: serving the built-in demo upstream');
  return demo.url;
}

/**
 * The number of workers `WORKERS` asks for on this machine (`auto`: one per CPU, and none —
 * one process — when the process may use a single CPU: a primary beside one worker would
 * take a share of that CPU for the messages between them).
 */
export function workerCount(setting: string, cpus: number = availableParallelism()): number {
  const parsed = parseWorkerCount(setting);
  if (parsed !== 'auto') return parsed ?? 0;
  return cpus > 1 ? cpus : 0;
}
