import type { Logger } from 'pino';
import { coded } from '../errors.js';
import { describeError } from '../log.js';
import type { BodyInspection, MaybePromise, PluginHooks, RequestContext, RequestOutcome, UpstreamResponse } from './types.js';
import type { Verdict } from './verdict.js';

/**
 * The phases a plugin may hook, in the order a request meets them (then the ban-gate
 * questions). The host keeps one list of bound hooks per phase, in plugin order.
 */
export const PHASES = ['onRequest', 'inspectBody', 'preProxy', 'onSend', 'onResponse', 'exemptFromBans', 'protectsFromBans'] as const;
export type Phase = (typeof PHASES)[number];

/** One hook of one plugin, with what a throw means for it (`closed`: the request gets 503). */
export interface Bound<F> {
  plugin: string;
  closed: boolean;
  fn: F;
}

/** Every phase's hooks, in plugin order. */
export type HookLists = { [P in Phase]: Bound<NonNullable<PluginHooks[P]>>[] };

/** Empty lists for every phase. */
export function emptyHookLists(): HookLists {
  return Object.fromEntries(PHASES.map((phase) => [phase, []])) as unknown as HookLists;
}

/** Adds a plugin's hooks to `lists`, bound to their object. */
export function bindHooks(lists: HookLists, plugin: string, closed: boolean, hooks: PluginHooks): void {
  for (const phase of PHASES) {
    const fn = hooks[phase] as ((...args: never[]) => unknown) | undefined;
    if (fn) (lists[phase] as Bound<unknown>[]).push({ plugin, closed, fn: fn.bind(hooks) });
  }
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

/** Logs a hook's failure; a `closed` plugin's failure becomes a {@link HookFailure}. */
export function hookFailed(log: Logger, hook: Bound<unknown>, phase: string, error: unknown): HookFailure | undefined {
  log.error(
    coded('PAL_PLUGIN_HOOK_FAILED', { plugin: hook.plugin, phase, err: describeError(error) }),
    `plugin ${hook.plugin} ${phase} hook failed (${hook.closed ? 'closed: 503' : 'open: continuing'})`,
  );
  return hook.closed ? new HookFailure(hook.plugin, error) : undefined;
}

type GateHook = (ctx: RequestContext) => MaybePromise<Verdict | undefined | void>;

/**
 * Runs a gate phase's hooks from `start`; the first verdict stops the chain. Stays
 * synchronous while hooks return plain values: a request that meets only synchronous hooks
 * is never delayed by a microtask per hook.
 */
export function runGate(
  log: Logger,
  hooks: readonly Bound<GateHook>[],
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
      const failure = hookFailed(log, hook, phase, error);
      if (failure) return failure;
      continue;
    }
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      return (result as Promise<Verdict | undefined | void>).then(
        (verdict) => (verdict ? { plugin: hook.plugin, verdict, index: i } : runGate(log, hooks, ctx, phase, i + 1)),
        (error: unknown) => hookFailed(log, hook, phase, error) ?? runGate(log, hooks, ctx, phase, i + 1),
      );
    }
    if (result) return { plugin: hook.plugin, verdict: result as Verdict, index: i };
  }
  return undefined;
}

/** The body inspections plugins ask for on this request, in plugin order, each with its plugin (a throw counts as no). */
export function bodyInspections(
  log: Logger,
  hooks: HookLists['inspectBody'],
  ctx: RequestContext,
): Array<{ hook: Bound<unknown>; inspection: BodyInspection }> | undefined {
  let found: Array<{ hook: Bound<unknown>; inspection: BodyInspection }> | undefined;
  for (const hook of hooks) {
    try {
      const inspection = hook.fn(ctx);
      if (inspection) (found ??= []).push({ hook, inspection });
    } catch (error) {
      hookFailed(log, hook, 'inspectBody', error);
    }
  }
  return found;
}

/**
 * Runs the inspections on the body read: the first verdict wins (with its index, for detect
 * mode to go on after it); a throw in a `closed` plugin is a {@link HookFailure}.
 */
export async function runBodyInspections(
  log: Logger,
  asked: ReadonlyArray<{ hook: Bound<unknown>; inspection: BodyInspection }>,
  body: Buffer,
  truncated: boolean,
  start = 0,
): Promise<HookVerdict | HookFailure | undefined> {
  for (let i = start; i < asked.length; i++) {
    const { hook, inspection } = asked[i]!;
    try {
      const verdict = await inspection.inspect(
        body.length > inspection.maxBytes ? body.subarray(0, inspection.maxBytes) : body,
        truncated || body.length > inspection.maxBytes,
      );
      if (verdict) return { plugin: hook.plugin, verdict, index: i };
    } catch (error) {
      const failure = hookFailed(log, hook, 'inspectBody', error);
      if (failure) return failure;
    }
  }
  return undefined;
}

/** Runs `onSend` hooks; a throwing hook is logged, the response goes on. */
export function runOnSend(log: Logger, hooks: HookLists['onSend'], ctx: RequestContext, response: UpstreamResponse): void {
  for (const hook of hooks) {
    try {
      hook.fn(ctx, response);
    } catch (error) {
      hookFailed(log, hook, 'onSend', error);
    }
  }
}

/** Runs every `onResponse` hook; failures are logged, never surfaced, never awaited. */
export function runOnResponse(log: Logger, hooks: HookLists['onResponse'], ctx: RequestContext, outcome: RequestOutcome): void {
  for (const hook of hooks) {
    try {
      const result = hook.fn(ctx, outcome);
      if (result && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).catch((error: unknown) => hookFailed(log, hook, 'onResponse', error));
      }
    } catch (error) {
      hookFailed(log, hook, 'onResponse', error);
    }
  }
}

/** True when a plugin exempts this client from the ban gate (a throw counts as no). */
export function anyExempts(log: Logger, hooks: HookLists['exemptFromBans'], ctx: RequestContext): boolean {
  for (const hook of hooks) {
    try {
      if (hook.fn(ctx)) return true;
    } catch (error) {
      hookFailed(log, hook, 'exemptFromBans', error);
    }
  }
  return false;
}

/** The plugin that protects `target` from bans (whitelist), if any (a throw counts as no). */
export function protectorOf(log: Logger, hooks: HookLists['protectsFromBans'], target: string): string | undefined {
  return hooks.find((hook) => {
    try {
      return hook.fn(target);
    } catch (error) {
      hookFailed(log, hook, 'protectsFromBans', error);
      return false;
    }
  })?.plugin;
}
