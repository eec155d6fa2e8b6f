import { Counter, Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { HookFailure, PluginHost, type HostDependencies } from '../../src/plugin/host.js';
import type { PluginDefinition, PluginHooks, RequestContext } from '../../src/plugin/types.js';
import { deny } from '../../src/plugin/verdict.js';
import type { PluginManifest } from '../../src/settings/manifest.js';
import { NodeStore } from '../../src/store/store.js';
import { memoryLogger } from '../helpers/logs.js';

function manifest(id: string, extra: Partial<PluginManifest> = {}): PluginManifest {
  return { id, name: id, description: '', version: '1.0.0', dependsOn: [], onFailure: 'open', settings: {}, ...extra };
}

function plugin(id: string, provision: PluginDefinition['provision'], extra: Partial<PluginManifest> = {}): PluginDefinition {
  return { manifest: manifest(id, extra), provision };
}

function hostFor(plugins: PluginDefinition[], settings: Record<string, unknown> = {}, extra: Partial<HostDependencies> = {}) {
  const { log, lines } = memoryLogger();
  const host = new PluginHost(plugins, { settings, log, store: new NodeStore('n1'), metrics: new Registry(), nodeName: 'n1', nodeSeed: 'seed-1', ...extra });
  return { host, lines };
}

const ctx = { id: 'r1', clientIp: '192.0.2.1', method: 'GET', path: '/', locals: new Map() } as unknown as RequestContext;

describe('PluginHost', () => {
  it('reconfigures a plugin whose settings changed: new hooks, routes and metrics; the old ones released; a failure restores it', async () => {
    const events: string[] = [];
    const limited = plugin(
      'limited',
      (ctx) => {
        const level = String(ctx.settings.LIMITED_LEVEL);
        if (level === 'broken') throw new Error('cannot work at level broken');
        events.push(`provision ${level}`);
        ctx.onClose(() => void events.push(`close ${level}`));
        new Counter({ name: 'limited_total', help: 'a plugin metric', registers: [ctx.metrics] });
        return { onRequest: () => deny(429, `limited.${level}`), routes: [{ method: 'GET', path: `/${level}`, handle: () => ({ json: {} }) }] };
      },
      { settings: { LIMITED_LEVEL: { type: 'string', default: 'one', description: 'x' } } },
    );
    const other = plugin('other', () => (events.push('provision other'), {}), {
      settings: { OTHER_LEVEL: { type: 'string', default: 'a', description: 'x' } },
    });
    const registry = new Registry();
    const { host } = hostFor([limited, other], { LIMITED_LEVEL: 'one', OTHER_LEVEL: 'a' }, { metrics: registry });
    await host.provision();
    expect(await host.onRequest(ctx)).toMatchObject({ verdict: { reason: 'limited.one' } });
    expect(await host.reconfigure({ LIMITED_LEVEL: 'two', OTHER_LEVEL: 'a' }, new Set(['LIMITED_LEVEL']))).toEqual(['limited']);
    expect(events).toEqual(['provision one', 'provision other', 'close one', 'provision two']);
    expect(await host.onRequest(ctx)).toMatchObject({ verdict: { reason: 'limited.two' } });
    expect(host.routes.get('limited')?.map((r) => r.path)).toEqual(['/two']);
    expect(registry.getMetricsAsArray().filter((m) => m.name === 'limited_total')).toHaveLength(1);
    await expect(host.reconfigure({ LIMITED_LEVEL: 'broken', OTHER_LEVEL: 'a' }, new Set(['LIMITED_LEVEL']))).rejects.toThrow(/cannot work at level broken/);
    expect(await host.onRequest(ctx)).toMatchObject({ verdict: { reason: 'limited.two' } });
    expect(host.plugins).toEqual(['limited', 'other']);
    await host.close();
  });

  it('runs jobs and accepts a shared store only where the node is held; node secrets agree across processes', async () => {
    const seen: Record<string, { every: boolean; secret: string; other: string; share: string }> = {};
    const probe = (name: string): PluginDefinition =>
      plugin(name, (ctx) => {
        let ran = false;
        ctx.every(60_000, () => void (ran = true), { name: 'probe', immediate: true });
        let share = 'accepted';
        try {
          ctx.shareStore(() => ({ health: () => ({ mode: 'shared' }) }));
        } catch (error) {
          share = (error as Error).message;
        }
        seen[name] = { every: ran, secret: ctx.nodeSecret('sessions'), other: ctx.nodeSecret('antibot'), share };
        return {};
      });
    const worker = hostFor([probe('w')], {}, { duties: { node: false, requests: true } });
    let shared = 0;
    const primary = hostFor([probe('p')], {}, { duties: { node: true, requests: false }, shareStore: () => void shared++ });
    await worker.host.provision();
    await primary.host.provision();
    expect(seen.w!.every).toBe(false);
    expect(seen.p!.every).toBe(true);
    expect(seen.w!.share).toMatch(/does not hold the node's store/);
    expect(seen.p!.share).toBe('accepted');
    expect(shared).toBe(1);
    expect(seen.w!.secret).toBe(seen.p!.secret);
    expect(seen.w!.secret).not.toBe(seen.w!.other);
    expect(seen.w!.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const elsewhere = hostFor([probe('x')], {}, { nodeSeed: 'seed-2' });
    await elsewhere.host.provision();
    expect(seen.x!.secret).not.toBe(seen.w!.secret);
    await Promise.all([worker.host.close(), primary.host.close(), elsewhere.host.close()]);
  });

  it('runs onRequest hooks in list order and stops at the first verdict', async () => {
    const calls: string[] = [];
    const hooks = (id: string, verdict?: ReturnType<typeof deny>): PluginHooks => ({
      onRequest: () => {
        calls.push(id);
        return verdict;
      },
    });
    const { host } = hostFor([
      plugin('a', () => hooks('a')),
      plugin('b', async () => ({ onRequest: async () => (calls.push('b'), undefined) })),
      plugin('c', () => hooks('c', deny(429, 'c.limit'))),
      plugin('d', () => hooks('d')),
    ]);
    await host.provision();
    expect(await host.onRequest(ctx)).toEqual({ plugin: 'c', index: 2, verdict: { kind: 'deny', status: 429, reason: 'c.limit' } });
    expect(calls).toEqual(['a', 'b', 'c']);
  });

  it('resumes the chain after a verdict when asked to start past it', async () => {
    const calls: string[] = [];
    const { host } = hostFor([
      plugin('a', () => ({ onRequest: () => (calls.push('a'), deny('a.no')) })),
      plugin('b', () => ({ onRequest: () => (calls.push('b'), undefined) })),
      plugin('c', () => ({ onRequest: () => (calls.push('c'), deny(429, 'c.limit')) })),
    ]);
    await host.provision();
    const first = await host.onRequest(ctx);
    expect(first).toMatchObject({ plugin: 'a', index: 0 });
    const next = await host.onRequest(ctx, (first as { index: number }).index + 1);
    expect(next).toMatchObject({ plugin: 'c', index: 2 });
    expect(calls).toEqual(['a', 'b', 'c']);
  });

  it('stays synchronous when every hook is synchronous', async () => {
    const { host } = hostFor([plugin('a', () => ({ onRequest: () => deny('a.no') }))]);
    await host.provision();
    const result = host.onRequest(ctx);
    expect(result).not.toBeInstanceOf(Promise);
    expect(result).toMatchObject({ plugin: 'a' });
  });

  it('continues past a throwing open plugin and fails closed for a closed one', async () => {
    const boom = (): never => {
      throw new Error('boom');
    };
    const open = hostFor([plugin('open', () => ({ onRequest: boom })), plugin('next', () => ({ onRequest: () => deny('next.no') }))]);
    await open.host.provision();
    expect(open.host.onRequest(ctx)).toMatchObject({ plugin: 'next' });
    expect(open.lines.find((l) => l.code === 'PAL_PLUGIN_HOOK_FAILED')).toMatchObject({ plugin: 'open', phase: 'onRequest' });

    const closed = hostFor([plugin('shut', () => ({ onRequest: async () => boom() }), { onFailure: 'closed' })]);
    await closed.host.provision();
    const result = await closed.host.onRequest(ctx);
    expect(result).toBeInstanceOf(HookFailure);
    expect((result as HookFailure).plugin).toBe('shut');
  });

  it('provisions only enabled plugins and refuses a missing dependency', async () => {
    const provisioned: string[] = [];
    const track = (id: string) => () => (provisioned.push(id), {});
    const { host } = hostFor(
      [plugin('on', track('on'), { enabledBy: 'USE_ON' }), plugin('off', track('off'), { enabledBy: 'USE_OFF' }), plugin('always', track('always'))],
      { USE_ON: true, USE_OFF: false },
    );
    await host.provision();
    expect(provisioned).toEqual(['on', 'always']);
    expect(host.plugins).toEqual(['on', 'always']);

    const broken = hostFor([plugin('needs', track('needs'), { dependsOn: ['off'] }), plugin('off', track('off'), { enabledBy: 'USE_OFF' })], {
      USE_OFF: false,
    });
    await expect(broken.host.provision()).rejects.toMatchObject({ code: 'PAL_PLUGIN_DEPENDENCY_MISSING', message: 'plugin needs needs off enabled' });
  });

  it('releases in reverse order on close, and after a failed provision', async () => {
    const released: string[] = [];
    const acquiring =
      (id: string, fail = false): PluginDefinition['provision'] =>
      (pctx) => {
        pctx.onClose(() => void released.push(`${id}:1`));
        pctx.onClose(() => void released.push(`${id}:2`));
        if (fail) throw new Error(`${id} cannot start`);
        return {};
      };
    const ok = hostFor([plugin('a', acquiring('a')), plugin('b', acquiring('b'))]);
    await ok.host.provision();
    await ok.host.close();
    expect(released).toEqual(['b:2', 'b:1', 'a:2', 'a:1']);

    released.length = 0;
    const failing = hostFor([plugin('a', acquiring('a')), plugin('b', acquiring('b', true)), plugin('c', acquiring('c'))]);
    await expect(failing.host.provision()).rejects.toMatchObject({
      code: 'PAL_PLUGIN_PROVISION_FAILED',
      message: 'plugin b failed to start: b cannot start',
    });
    expect(released).toEqual(['b:2', 'b:1', 'a:2', 'a:1']);
  });

  it('runs every onResponse hook even when one throws or rejects', async () => {
    const seen: string[] = [];
    const { host, lines } = hostFor([
      plugin('a', () => ({
        onResponse: () => {
          throw new Error('sync');
        },
      })),
      plugin('b', () => ({
        onResponse: async () => {
          throw new Error('async');
        },
      })),
      plugin('c', () => ({ onResponse: (_c, outcome) => void seen.push(`${outcome.status}`) })),
    ]);
    await host.provision();
    host.onResponse(ctx, { status: 200, verdict: 'pass', reason: undefined, aborted: false, durationMs: 1 });
    expect(seen).toEqual(['200']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.filter((l) => l.code === 'PAL_PLUGIN_HOOK_FAILED').map((l) => l.plugin)).toEqual(['a', 'b']);
  });

  it('runs scheduled jobs without overlap and stops them on close', async () => {
    let runs = 0;
    let release!: () => void;
    const { host } = hostFor([
      plugin('jobs', (pctx) => {
        pctx.every(
          5,
          () =>
            new Promise<void>((resolve) => {
              runs++;
              release = resolve;
            }),
          { name: 'slow', immediate: true },
        );
        return {};
      }),
    ]);
    vi.useFakeTimers();
    try {
      await host.provision();
      // Eight intervals pass while the first run holds: none starts beside it.
      await vi.advanceTimersByTimeAsync(40);
      expect(runs).toBe(1);
      release();
      await host.close();
      const after = runs;
      await vi.advanceTimersByTimeAsync(30);
      expect(runs).toBe(after);
    } finally {
      vi.useRealTimers();
    }
  });
});
