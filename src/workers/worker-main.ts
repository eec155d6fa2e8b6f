import { Counter, type Registry } from 'prom-client';
import { builtinPlugins } from '../../plugins/index.js';
import { PalisadeError, coded, exitCodes } from '../errors.js';
import { createLogger, describeError, flushLogger } from '../log.js';
import { createRegistry } from '../metrics.js';
import { registerLeaseMetrics } from '../store/lease-metrics.js';
import { PluginHost } from '../plugin/host.js';
import { serveRequests, type RequestSide } from '../proxy/serve-requests.js';
import type { Settings } from '../settings/load.js';
import type { CoreSettings } from '../settings/types.generated.js';
import { stdoutLog } from '../stdout-log.js';
import { primaryChannel, type CountedChannel } from './channels.js';
import { NoteCourier } from './note-courier.js';
import type { WorkerInit } from './protocol.js';
import { WorkerStore } from '../store/primary/worker-store.js';

/**
 * A worker's life: asks its primary for its settings, loads the node's bans from it,
 * provisions the plugins for requests, serves the proxy port (shared by every worker through
 * `node:cluster`), and tells the primary it is ready. It drains and exits when the primary
 * asks, on SIGTERM/SIGINT, or when the primary is gone.
 */
export async function runWorker(): Promise<void> {
  stdoutLog().shared = true;
  const channel = primaryChannel();
  const init = await new Promise<WorkerInit>((resolve) => {
    const stop = channel.onMessage((message) => {
      if (message.t !== 'init') return;
      stop();
      resolve(message.init);
    });
    channel.send({ t: 'up' });
  });
  const settings = init.settings as unknown as CoreSettings;
  const log = createLogger({ level: settings.LOG_LEVEL, nodeName: settings.NODE_NAME, worker: init.slot, secretSettings: init.secrets });
  const store = new WorkerStore(channel, init.health);
  const registry = createRegistry(settings.NODE_NAME);
  registerChannelMetrics(registry, channel);
  registerLeaseMetrics(registry, store.counters.leaseCounts);
  const notes = new NoteCourier(channel, registry);
  const host = new PluginHost(builtinPlugins, {
    settings: init.settings as Settings,
    log,
    store,
    metrics: registry,
    nodeName: settings.NODE_NAME,
    nodeSeed: init.nodeSeed,
    duties: { node: false, requests: true },
    tellNode: (plugin, note) => notes.send(plugin, note),
  });
  let side: RequestSide | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (why: string, gentle = false): Promise<void> =>
    (stopping ??= (async () => {
      log.info({ why, inFlight: side?.active ?? 0 }, 'worker draining');
      const inTime = side ? await side.drain(settings.SHUTDOWN_TIMEOUT, gentle) : true;
      if (!inTime) log.warn(coded('PAL_SHUTDOWN_TIMEOUT'), 'in-flight requests cut at SHUTDOWN_TIMEOUT');
      await store.report().catch(() => undefined); // the last metric deltas and hits
      notes.flush();
      await host.close();
      await side?.close();
      await store.close();
      flushLogger(log);
      process.exit(exitCodes.ok);
    })());

  channel.onMessage((message) => {
    if (message.t === 'drain') void stop(message.gentle ? 'replaced by a reload' : 'asked by the primary', message.gentle);
    else if (message.t === 'scrape') {
      void registry.getMetricsAsJSON().then((metrics) => channel.send({ t: 'scraped', id: message.id, metrics }));
    }
  });
  // The primary went away (killed): nobody holds the store any more, so stop serving.
  process.on('disconnect', () => void stop('the primary is gone'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // A reload is the primary's to run (SIGHUP to the whole group, a closed terminal): not an exit.
  process.on('SIGHUP', () => undefined);
  process.on('uncaughtException', (error) => {
    log.fatal(coded('PAL_INTERNAL', { err: error }), 'uncaught exception in a worker');
    flushLogger(log);
    process.exit(exitCodes.failure);
  });
  process.on('unhandledRejection', (reason) => log.error(coded('PAL_INTERNAL', { err: describeError(reason) }), 'unhandled promise rejection'));

  try {
    const loading = Date.now();
    await store.loaded;
    log.debug({ bans: store.bans.count(), ms: Date.now() - loading }, "worker loaded the node's bans");
    await host.provision();
    side = await serveRequests({ settings, log, store, host, registry, upstream: new URL(init.upstream) });
    channel.send({ t: 'ready', address: side.address });
  } catch (error) {
    const code = error instanceof PalisadeError ? error.code : 'PAL_INTERNAL';
    const errno = (error as { cause?: NodeJS.ErrnoException }).cause?.code;
    channel.send({ t: 'failed', code, message: describeError(error), ...(errno ? { errno } : {}) });
    await host.close();
    flushLogger(log);
    process.exit(exitCodes.failure);
  }
}

/** `palisade_worker_messages_total{direction}`: IPC messages between this worker and the primary. */
function registerChannelMetrics(registry: Registry, channel: CountedChannel): void {
  new Counter({
    name: 'palisade_worker_messages_total',
    help: 'Messages between the workers and their primary, by direction (sent by the workers, received by them).',
    labelNames: ['direction'] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.labels('sent').inc(channel.sent);
      this.labels('received').inc(channel.received);
    },
  });
}
