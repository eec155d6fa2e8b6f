import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { PalisadeError } from '../errors.js';
import { describeError } from '../log.js';
import type { Settings } from '../settings/load.js';
import type { CoreSettings } from '../settings/types.generated.js';
import type { ClusterStore } from '../store/types.js';
import {
  anyExempts,
  bindHooks,
  bodyInspections,
  emptyHookLists,
  protectorOf,
  runBodyInspections,
  runGate,
  runOnResponse,
  runOnSend,
  type Bound,
  type HookFailure,
  type HookLists,
  type HookVerdict,
} from './run-phase.js';
import { Scheduler, type LeaderCheck } from './scheduler.js';
import type {
  AdminRoute,
  BodyInspection,
  MaybePromise,
  PluginContext,
  PluginDefinition,
  PluginHooks,
  PluginSummary,
  ProcessDuties,
  ExplainClient,
  ExplainFinding,
  RequestContext,
  RequestOutcome,
  UpstreamResponse,
} from './types.js';
import type { LocalState, SharedBackend } from '../store/shared-backend.js';

export { HookFailure, type HookVerdict } from './run-phase.js';

/** The body inspections of one request, each with its plugin. */
export type BodyRequests = ReadonlyArray<{ hook: Bound<unknown>; inspection: BodyInspection }>;

const BOTH_DUTIES: ProcessDuties = Object.freeze({ node: true, requests: true });

/** Dependencies the host hands to plugins. */
export interface HostDependencies {
  settings: Settings;
  log: Logger;
  store: ClusterStore;
  metrics: Registry;
  nodeName: string;
  /** What this process does for the node; both when absent (a one-process node). */
  duties?: ProcessDuties;
  /** The node's random seed, the same in all its processes (see `PluginContext.nodeSecret`). */
  nodeSeed: string;
  isLeader?: LeaderCheck;
  /** Receives the shared backend a plugin provides (see `PluginContext.shareStore`). */
  shareStore?: (create: (local: LocalState) => SharedBackend, plugin: string) => void;
  /**
   * Carries a plugin's note to the node's process (a worker's channel to its primary); when
   * absent this process is the node's and the note is delivered here (see `deliverNote`).
   */
  tellNode?: (plugin: string, note: unknown) => void;
}

/**
 * Provisions the enabled plugins in list order, runs their hooks, and releases what they
 * acquired in reverse order on close — also when a later plugin's provision failed.
 */
export class PluginHost {
  private readonly releases: Array<{ plugin: string; release: () => MaybePromise<void> }> = [];
  private readonly scheduler: Scheduler;
  /** Every phase's hooks, in plugin order (see `run-phase.ts`). */
  private hooks: HookLists = emptyHookLists();
  private readonly routeTable = new Map<string, AdminRoute[]>();
  private readonly active: string[] = [];
  /** Each provisioned plugin's hooks, and the metric names it registered (removed when it closes). */
  private readonly provisioned = new Map<string, { hooks: PluginHooks; closed: boolean; metrics: string[] }>();
  private settings: Settings;
  private closed = false;

  constructor(
    private readonly definitions: readonly PluginDefinition<any>[],
    private readonly deps: HostDependencies,
  ) {
    this.scheduler = new Scheduler(deps.log, deps.isLeader);
    this.settings = deps.settings;
  }

  /** Ids of the plugins that were provisioned, in order. */
  get plugins(): readonly string[] {
    return this.active;
  }

  /** Routes per plugin id, for the admin listener. */
  get routes(): ReadonlyMap<string, AdminRoute[]> {
    return this.routeTable;
  }

  /** True when no hook of this kind exists, so the proxy can skip the call entirely. */
  get hasExemptions(): boolean {
    return this.hooks.exemptFromBans.length > 0;
  }

  /**
   * Provisions every enabled plugin. On failure, closes what was provisioned so far and
   * throws PAL_PLUGIN_PROVISION_FAILED (or PAL_PLUGIN_DEPENDENCY_MISSING).
   */
  async provision(): Promise<void> {
    const enabled = this.definitions.filter((d) => this.isEnabled(d));
    const enabledIds = new Set(enabled.map((d) => d.manifest.id));
    for (const definition of enabled) {
      const missing = definition.manifest.dependsOn.filter((dep) => !enabledIds.has(dep));
      if (missing.length > 0) {
        throw new PalisadeError('PAL_PLUGIN_DEPENDENCY_MISSING', `plugin ${definition.manifest.id} needs ${missing.join(', ')} enabled`);
      }
    }
    for (const definition of enabled) {
      try {
        await this.provisionOne(definition);
      } catch (error) {
        await this.close();
        throw error;
      }
    }
    this.rebind();
  }

  /**
   * A reload: provisions again, with `settings`, every plugin whose own settings are among
   * `changed` — enabling or closing those whose `USE_*` changed — in plugin order, and
   * leaves the others running. A plugin whose manifest says `reload: restart` is never
   * touched (its settings wait for a restart). When one fails with the new values it is
   * provisioned again with the old ones and the error is thrown. Returns the ids touched.
   */
  async reconfigure(settings: Settings, changed: ReadonlySet<string>): Promise<string[]> {
    const previous = this.settings;
    const touched: string[] = [];
    for (const definition of this.definitions) {
      const { id } = definition.manifest;
      if (
        definition.manifest.reload === 'restart' ||
        !Object.keys(definition.manifest.settings).some((name) => changed.has(name) || isNumberedOf(name, changed))
      )
        continue;
      touched.push(id);
      const wasActive = this.provisioned.has(id);
      if (wasActive) await this.closeOne(id);
      this.settings = settings;
      try {
        if (this.isEnabled(definition)) await this.provisionOne(definition);
      } catch (error) {
        this.settings = previous;
        if (wasActive) await this.provisionOne(definition).catch(() => undefined);
        this.rebind();
        throw error;
      }
    }
    this.settings = settings;
    this.rebind();
    return touched;
  }

  /** Runs `onRequest` hooks in order from `from`; the first verdict stops the chain. */
  onRequest(ctx: RequestContext, from = 0): MaybePromise<HookVerdict | HookFailure | undefined> {
    return runGate(this.deps.log, this.hooks.onRequest, ctx, 'onRequest', from);
  }

  /** Runs `preProxy` hooks in order from `from`; the first verdict stops the chain. */
  preProxy(ctx: RequestContext, from = 0): MaybePromise<HookVerdict | HookFailure | undefined> {
    return runGate(this.deps.log, this.hooks.preProxy, ctx, 'preProxy', from);
  }

  /**
   * The body inspections plugins ask for on this request (undefined: none, the body streams
   * as it comes); {@link inspectBody} runs them once the body was read.
   */
  bodyInspections(ctx: RequestContext): BodyRequests | undefined {
    return this.hooks.inspectBody.length === 0 ? undefined : bodyInspections(this.deps.log, this.hooks.inspectBody, ctx);
  }

  /** Runs `asked` on the body read from `from`; the first verdict stops the chain. */
  inspectBody(asked: BodyRequests, body: Buffer, truncated: boolean, from = 0): Promise<HookVerdict | HookFailure | undefined> {
    return runBodyInspections(this.deps.log, asked, body, truncated, from);
  }

  /** True when a plugin exempts this client from the ban gate. */
  isExempt(ctx: RequestContext): boolean {
    return anyExempts(this.deps.log, this.hooks.exemptFromBans, ctx);
  }

  /**
   * Every plugin's findings about `client`, in plugin order (the order the request path
   * runs them). A plugin that fails says so as an `info` finding.
   */
  async explain(client: ExplainClient): Promise<Array<ExplainFinding & { plugin: string }>> {
    const found: Array<ExplainFinding & { plugin: string }> = [];
    for (const plugin of this.active) {
      const hooks = this.provisioned.get(plugin)?.hooks;
      if (!hooks?.explain) continue;
      try {
        for (const finding of await hooks.explain(client)) found.push({ plugin, ...finding });
      } catch (error) {
        found.push({ plugin, effect: 'info', rule: '', detail: `could not answer: ${describeError(error)}` });
      }
    }
    return found;
  }

  /** Hands `note`, sent by `plugin`'s instance in a request process, to its `onNote` here. */
  deliverNote(plugin: string, note: unknown): void {
    const hooks = this.provisioned.get(plugin)?.hooks;
    if (!hooks?.onNote) return;
    try {
      hooks.onNote(note);
    } catch (error) {
      this.deps.log.warn({ plugin, err: describeError(error) }, 'plugin note failed');
    }
  }

  /** Every plugin's fingerprints (see `PluginHooks.fingerprints`), as `<plugin>.<name>`. */
  fingerprints(): Record<string, string> {
    const all: Record<string, string> = {};
    for (const plugin of this.active) {
      const hooks = this.provisioned.get(plugin)?.hooks;
      if (!hooks?.fingerprints) continue;
      try {
        for (const [name, value] of Object.entries(hooks.fingerprints())) all[`${plugin}.${name}`] = value;
      } catch (error) {
        this.deps.log.warn({ plugin, err: describeError(error) }, 'plugin fingerprints failed');
      }
    }
    return all;
  }

  /** Every plugin's section of the review page (see `PluginHooks.summary`), in plugin order; a failing one is left out and logged. */
  async summaries(): Promise<PluginSummary[]> {
    const all: PluginSummary[] = [];
    for (const plugin of this.active) {
      const hooks = this.provisioned.get(plugin)?.hooks;
      if (!hooks?.summary) continue;
      try {
        const summary = await hooks.summary();
        if (summary) all.push(summary);
      } catch (error) {
        this.deps.log.warn({ plugin, err: describeError(error) }, 'plugin summary failed');
      }
    }
    return all;
  }

  /** The plugin that protects `target` from manual bans (whitelist), if any. */
  protector(target: string): string | undefined {
    return protectorOf(this.deps.log, this.hooks.protectsFromBans, target);
  }

  /** Runs `onSend` hooks; a throwing hook is logged, the response goes on. */
  onSend(ctx: RequestContext, response: UpstreamResponse): void {
    runOnSend(this.deps.log, this.hooks.onSend, ctx, response);
  }

  /** Runs every `onResponse` hook; failures are logged, never surfaced. */
  onResponse(ctx: RequestContext, outcome: RequestOutcome): void {
    runOnResponse(this.deps.log, this.hooks.onResponse, ctx, outcome);
  }

  /** Stops jobs and runs every registered release in reverse order; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.scheduler.stop();
    while (this.releases.length > 0) {
      const { plugin, release } = this.releases.pop()!;
      try {
        await release();
      } catch (error) {
        this.deps.log.warn({ plugin, err: describeError(error) }, 'plugin release failed');
      }
    }
  }

  private isEnabled(definition: PluginDefinition<any>): boolean {
    const flag = definition.manifest.enabledBy;
    return flag === undefined || this.settings[flag] === true;
  }

  private contextFor(id: string): PluginContext<any> {
    const log = this.deps.log.child({ plugin: id });
    const duties = this.deps.duties ?? BOTH_DUTIES;
    return {
      id,
      settings: this.settings as unknown as Readonly<CoreSettings>,
      log,
      store: this.deps.store,
      metrics: this.deps.metrics,
      nodeName: this.deps.nodeName,
      duties,
      nodeSecret: (label) => createHmac('sha256', this.deps.nodeSeed).update(label).digest('base64url'),
      shareStore: (create) => {
        if (!this.deps.shareStore || !duties.node) throw new Error("this process does not hold the node's store");
        this.deps.shareStore(create, id);
      },
      onClose: (release) => {
        this.releases.push({ plugin: id, release });
      },
      every: (intervalMs, job, options) => {
        if (!duties.node) return;
        const cancel = this.scheduler.every(intervalMs, job, options);
        this.releases.push({ plugin: id, release: cancel });
      },
      tellNode: (note) => {
        if (this.deps.tellNode) this.deps.tellNode(id, note);
        else this.deliverNote(id, note);
      },
    };
  }

  /** Provisions one plugin and records its hooks and the metrics it registered. */
  private async provisionOne(definition: PluginDefinition<any>): Promise<void> {
    const { id } = definition.manifest;
    const before = new Set(this.deps.metrics.getMetricsAsArray().map((metric) => metric.name));
    try {
      const hooks = await definition.provision(this.contextFor(id));
      const metrics = this.deps.metrics
        .getMetricsAsArray()
        .map((metric) => metric.name)
        .filter((name) => !before.has(name));
      this.provisioned.set(id, { hooks, closed: definition.manifest.onFailure === 'closed', metrics });
      this.active.push(id);
      this.active.sort((a, b) => this.order(a) - this.order(b));
    } catch (error) {
      await this.closeOne(id);
      // A plugin's own code (PAL_REDIS_TLS…) says more than the generic one: keep it.
      const code = error instanceof PalisadeError ? error.code : 'PAL_PLUGIN_PROVISION_FAILED';
      throw new PalisadeError(code, `plugin ${id} failed to start: ${describeError(error)}`, { cause: error });
    }
  }

  /** Runs one plugin's releases (newest first) and forgets its hooks and metrics. */
  private async closeOne(id: string): Promise<void> {
    for (let i = this.releases.length - 1; i >= 0; i--) {
      const entry = this.releases[i]!;
      if (entry.plugin !== id) continue;
      this.releases.splice(i, 1);
      try {
        await entry.release();
      } catch (error) {
        this.deps.log.warn({ plugin: id, err: describeError(error) }, 'plugin release failed');
      }
    }
    for (const name of this.provisioned.get(id)?.metrics ?? []) this.deps.metrics.removeSingleMetric(name);
    this.provisioned.delete(id);
    const at = this.active.indexOf(id);
    if (at !== -1) this.active.splice(at, 1);
  }

  private order(id: string): number {
    return this.definitions.findIndex((definition) => definition.manifest.id === id);
  }

  /** Rebuilds the hook lists from the provisioned plugins, in plugin order. */
  private rebind(): void {
    const hooks = emptyHookLists();
    this.routeTable.clear();
    for (const plugin of this.active) {
      const entry = this.provisioned.get(plugin)!;
      bindHooks(hooks, plugin, entry.closed, entry.hooks);
      if (entry.hooks.routes?.length) this.routeTable.set(plugin, entry.hooks.routes);
    }
    this.hooks = hooks;
  }
}

/** True when `name` is a numbered setting (`LIMIT_REQ_URL_1`) and a variant of it changed. */
function isNumberedOf(name: string, changed: ReadonlySet<string>): boolean {
  for (const candidate of changed) if (candidate.startsWith(`${name}_`) && /^\d{1,2}$/.test(candidate.slice(name.length + 1))) return true;
  return false;
}
