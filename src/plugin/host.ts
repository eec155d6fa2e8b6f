import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { PalisadeError, coded } from '../errors.js';
import { describeError } from '../log.js';
import type { Settings } from '../settings/load.js';
import type { CoreSettings } from '../settings/types.generated.js';
import type { ClusterStore, LocalState, SharedBackend } from '../store/types.js';
import { Scheduler, type LeaderCheck } from './scheduler.js';
import type {
  AdminRoute,
  MaybePromise,
  PluginContext,
  PluginDefinition,
  PluginHooks,
  ProcessDuties,
  ExplainClient,
  ExplainFinding,
  RequestContext,
  RequestOutcome,
  UpstreamResponse,
} from './types.js';
import type { Verdict } from './verdict.js';

const BOTH_DUTIES: ProcessDuties = Object.freeze({ node: true, requests: true });

/** One hook of one plugin, with what a throw means for it. */
interface Bound<F> {
  plugin: string;
  closed: boolean;
  fn: F;
}

type GateHook = (ctx: RequestContext) => MaybePromise<Verdict | undefined | void>;

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
}

/** A verdict together with the plugin that gave it. */
export interface HookVerdict {
  plugin: string;
  verdict: Verdict;
  /** The hook's position in its phase: the chain can go on after it (detect mode). */
  index: number;
}

/** A hook failed with `onFailure: closed`: the request must be answered with 503. */
export class HookFailure {
  constructor(
    readonly plugin: string,
    readonly error: unknown,
  ) {}
}

/**
 * Provisions the enabled plugins in list order, runs their hooks, and releases what they
 * acquired in reverse order on close — also when a later plugin's provision failed.
 */
export class PluginHost {
  private readonly releases: Array<{ plugin: string; release: () => MaybePromise<void> }> = [];
  private readonly scheduler: Scheduler;
  private onRequestHooks: Bound<GateHook>[] = [];
  private preProxyHooks: Bound<GateHook>[] = [];
  private onSendHooks: Bound<NonNullable<PluginHooks['onSend']>>[] = [];
  private onResponseHooks: Bound<NonNullable<PluginHooks['onResponse']>>[] = [];
  private exemptHooks: Bound<NonNullable<PluginHooks['exemptFromBans']>>[] = [];
  private protectHooks: Bound<NonNullable<PluginHooks['protectsFromBans']>>[] = [];
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
    return this.exemptHooks.length > 0;
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
        throw new PalisadeError(
          'PAL_PLUGIN_DEPENDENCY_MISSING',
          `plugin ${definition.manifest.id} needs ${missing.join(', ')} enabled`,
        );
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
      if (definition.manifest.reload === 'restart' || !Object.keys(definition.manifest.settings).some((name) => changed.has(name) || isNumberedOf(name, changed))) continue;
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
    return this.runGate(this.onRequestHooks, ctx, 'onRequest', from);
  }

  /** Runs `preProxy` hooks in order from `from`; the first verdict stops the chain. */
  preProxy(ctx: RequestContext, from = 0): MaybePromise<HookVerdict | HookFailure | undefined> {
    return this.runGate(this.preProxyHooks, ctx, 'preProxy', from);
  }

  /** True when a plugin exempts this client from the ban gate. */
  isExempt(ctx: RequestContext): boolean {
    for (const hook of this.exemptHooks) {
      try {
        if (hook.fn(ctx)) return true;
      } catch (error) {
        this.hookFailed(hook, 'exemptFromBans', error);
      }
    }
    return false;
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

  /** The plugin that protects `target` from manual bans (whitelist), if any. */
  protector(target: string): string | undefined {
    return this.protectHooks.find((hook) => {
      try {
        return hook.fn(target);
      } catch (error) {
        this.hookFailed(hook, 'protectsFromBans', error);
        return false;
      }
    })?.plugin;
  }

  /** Runs `onSend` hooks; a throwing hook is logged, the response goes on. */
  onSend(ctx: RequestContext, response: UpstreamResponse): void {
    for (const hook of this.onSendHooks) {
      try {
        hook.fn(ctx, response);
      } catch (error) {
        this.hookFailed(hook, 'onSend', error);
      }
    }
  }

  /** Runs every `onResponse` hook; failures are logged, never surfaced. */
  onResponse(ctx: RequestContext, outcome: RequestOutcome): void {
    for (const hook of this.onResponseHooks) {
      try {
        const result = hook.fn(ctx, outcome);
        if (result && typeof (result as Promise<void>).then === 'function') {
          (result as Promise<void>).catch((error: unknown) => this.hookFailed(hook, 'onResponse', error));
        }
      } catch (error) {
        this.hookFailed(hook, 'onResponse', error);
      }
    }
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
        if (!this.deps.shareStore || !duties.node) throw new Error('this process does not hold the node\'s store');
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
    };
  }

  /** Provisions one plugin and records its hooks and the metrics it registered. */
  private async provisionOne(definition: PluginDefinition<any>): Promise<void> {
    const { id } = definition.manifest;
    const before = new Set(this.deps.metrics.getMetricsAsArray().map((metric) => metric.name));
    try {
      const hooks = await definition.provision(this.contextFor(id));
      const metrics = this.deps.metrics.getMetricsAsArray().map((metric) => metric.name).filter((name) => !before.has(name));
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
    const onRequest: Bound<GateHook>[] = [];
    const preProxy: Bound<GateHook>[] = [];
    const onSend: Bound<NonNullable<PluginHooks['onSend']>>[] = [];
    const onResponse: Bound<NonNullable<PluginHooks['onResponse']>>[] = [];
    const exempt: Bound<NonNullable<PluginHooks['exemptFromBans']>>[] = [];
    const protect: Bound<NonNullable<PluginHooks['protectsFromBans']>>[] = [];
    this.routeTable.clear();
    for (const plugin of this.active) {
      const { hooks, closed } = this.provisioned.get(plugin)!;
      const wrap = <F>(fn: F | undefined): Bound<F>[] => (fn ? [{ plugin, closed, fn }] : []);
      onRequest.push(...wrap(hooks.onRequest?.bind(hooks)));
      preProxy.push(...wrap(hooks.preProxy?.bind(hooks)));
      onSend.push(...wrap(hooks.onSend?.bind(hooks)));
      onResponse.push(...wrap(hooks.onResponse?.bind(hooks)));
      exempt.push(...wrap(hooks.exemptFromBans?.bind(hooks)));
      protect.push(...wrap(hooks.protectsFromBans?.bind(hooks)));
      if (hooks.routes?.length) this.routeTable.set(plugin, hooks.routes);
    }
    this.onRequestHooks = onRequest;
    this.preProxyHooks = preProxy;
    this.onSendHooks = onSend;
    this.onResponseHooks = onResponse;
    this.exemptHooks = exempt;
    this.protectHooks = protect;
  }

  /**
   * Runs gate hooks, staying synchronous while hooks return plain values: a request that
   * meets only synchronous hooks is never delayed by a microtask per hook.
   */
  private runGate(
    hooks: Bound<GateHook>[],
    ctx: RequestContext,
    phase: string,
    start = 0,
  ): MaybePromise<HookVerdict | HookFailure | undefined> {
    for (let i = start; i < hooks.length; i++) {
      const hook = hooks[i]!;
      let result: MaybePromise<Verdict | undefined | void>;
      try {
        result = hook.fn(ctx);
      } catch (error) {
        const failure = this.hookFailed(hook, phase, error);
        if (failure) return failure;
        continue;
      }
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        return (result as Promise<Verdict | undefined | void>).then(
          (verdict) => (verdict ? { plugin: hook.plugin, verdict, index: i } : this.runGate(hooks, ctx, phase, i + 1)),
          (error: unknown) => this.hookFailed(hook, phase, error) ?? this.runGate(hooks, ctx, phase, i + 1),
        );
      }
      if (result) return { plugin: hook.plugin, verdict: result as Verdict, index: i };
    }
    return undefined;
  }

  private hookFailed(hook: Bound<unknown>, phase: string, error: unknown): HookFailure | undefined {
    this.deps.log.error(
      coded('PAL_PLUGIN_HOOK_FAILED', { plugin: hook.plugin, phase, err: describeError(error) }),
      `plugin ${hook.plugin} ${phase} hook failed (${hook.closed ? 'closed: 503' : 'open: continuing'})`,
    );
    return hook.closed ? new HookFailure(hook.plugin, error) : undefined;
  }
}

/** True when `name` is a numbered setting (`LIMIT_REQ_URL_1`) and a variant of it changed. */
function isNumberedOf(name: string, changed: ReadonlySet<string>): boolean {
  for (const candidate of changed) if (candidate.startsWith(`${name}_`) && /^\d{1,2}$/.test(candidate.slice(name.length + 1))) return true;
  return false;
}
