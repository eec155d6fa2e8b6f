import { describe, expect, it } from 'vitest';
import { PalisadeError } from '../../src/errors.js';
import { CidrSet } from '../../src/net/ip.js';
import { BanPolicy, MAX_BAN_MS, type BanRefusal } from '../../src/store/ban-policy.js';
import { NodeStore } from '../../src/store/store.js';
import type { Ban, BanChange } from '../../src/store/types.js';

const TRUSTED = CidrSet.from(['10.0.0.0/8']);
const WHITELISTED = CidrSet.from(['192.0.2.50']);

/** A store whose ban policy trusts 10.0.0.0/8 (REAL_IP_FROM) and protects 192.0.2.50 (a whitelist). */
function storeWithPolicy(): { store: NodeStore; refusals: Array<[string, string]> } {
  const store = new NodeStore('policy-node');
  store.policy.update({
    minPrefixV4: 16,
    minPrefixV6: 32,
    holdsTrustedProxy: (target) => TRUSTED.overlaps(target),
    protector: (target) => (WHITELISTED.overlaps(target) ? 'whitelist' : undefined),
  });
  const refusals: Array<[string, string]> = [];
  store.policy.onRefused((source, refusal) => refusals.push([source, refusal.reason]));
  return { store, refusals };
}

/** Targets no source may ban, and the reason each is refused for. */
const REFUSED: Array<[string, string]> = [
  ['0.0.0.0/0', 'too_wide'],
  ['::/0', 'too_wide'],
  ['10.0.0.0/8', 'too_wide'],
  ['127.0.0.1', 'loopback'],
  ['127.0.0.0/16', 'loopback'],
  ['::1', 'loopback'],
  ['10.1.2.3', 'trusted_proxy'],
  ['192.0.2.50', 'protected'],
  ['not-an-ip', 'invalid'],
];

function record(target: string, expiresAt: number | null = Date.now() + 3_600_000): BanChange {
  const ban: Ban = { target, reason: 'r', origin: 'api', actor: 'a', node: 'elsewhere', createdAt: Date.now(), expiresAt, evidence: '', version: Date.now() };
  return { op: 'ban', ban };
}

/** What each source does with a target: refused (with its reason), or enforced. */
const sources: Record<string, (store: NodeStore, target: string, durationMs?: number) => Promise<string>> = {
  // The admin API and an import check the request, then add what passed.
  async api(store, target, durationMs = 3_600_000) {
    const checked = store.policy.check({ ip: target, duration: `${durationMs / 1000}s`, reason: 'r' }, 'api');
    if ('code' in checked) return (checked as BanRefusal).reason;
    await store.bans.add({ target: checked.target, reason: checked.reason, origin: 'api', durationMs: checked.durationMs });
    return 'enforced';
  },
  async import(store, target, durationMs = 3_600_000) {
    const checked = store.policy.check({ ip: target, duration: `${durationMs / 1000}s`, reason: 'row' }, 'import');
    if ('code' in checked) return (checked as BanRefusal).reason;
    await store.bans.add({ target: checked.target, reason: checked.reason, origin: 'import', durationMs: checked.durationMs });
    return 'enforced';
  },
  // A downloaded list and a plugin both call store.bans.add.
  async blacklist(store, target, durationMs = 3_600_000) {
    return store.bans.add({ target, reason: 'blacklist.url', origin: 'blacklist', durationMs }).then(
      () => 'enforced',
      (error: PalisadeError) => error.code,
    );
  },
  async snapshot(store, target, durationMs = 3_600_000) {
    return store.ledger.accept(record(target, Date.now() + durationMs), 'snapshot') ? 'enforced' : 'refused';
  },
  async redis(store, target, durationMs = 3_600_000) {
    return store.ledger.apply(record(target, Date.now() + durationMs)) ? 'enforced' : 'refused';
  },
};

describe('one ban policy for every source', () => {
  for (const [source, make] of Object.entries(sources)) {
    it(`${source}: refuses every network too wide, loopback, a trusted proxy, a whitelisted address and garbage, and counts each under ${source}`, async () => {
      const { store, refusals } = storeWithPolicy();
      for (const [target, reason] of REFUSED) {
        const outcome = await make(store, target);
        expect(outcome, target).not.toBe('enforced');
        expect(refusals.at(-1), target).toEqual([source, reason]);
        expect(store.bans.match(target.replace(/\/.*/, '')), target).toBeUndefined();
      }
      expect(await make(store, '198.51.100.7')).toBe('enforced');
      expect(store.bans.match('198.51.100.7')).toBeDefined();
      await store.close();
    });

    it(`${source}: refuses a ban longer than 100 years (a date no surface can show)`, async () => {
      const { store, refusals } = storeWithPolicy();
      expect(await make(store, '198.51.100.8', MAX_BAN_MS * 2)).not.toBe('enforced');
      expect(refusals.at(-1)).toEqual([source, 'too_long']);
      expect(store.bans.match('198.51.100.8')).toBeUndefined();
      await store.close();
    });
  }

  it('refuses a record from Redis or a snapshot that is mistyped, not canonical, or dated past what can be shown', () => {
    const policy = new BanPolicy();
    const good = record('198.51.100.9') as unknown as { op: 'ban'; ban: Record<string, unknown> };
    const variants: Array<Record<string, unknown>> = [
      { ...good.ban, target: '198.051.100.9' },
      { ...good.ban, target: '2001:DB8::1' },
      { ...good.ban, reason: 7 },
      { ...good.ban, expiresAt: 8.64e15 },
      { ...good.ban, createdAt: 'yesterday' },
      { ...good.ban, version: -1 },
      { ...good.ban, node: '' },
    ];
    for (const ban of variants) expect(policy.record({ op: 'ban', ban }, 'redis'), JSON.stringify(ban)).toMatchObject({ code: 'PAL_BAN_INVALID' });
    expect(policy.record({ op: 'ban', ban: good.ban }, 'redis')).toMatchObject({ op: 'ban' });
    expect(policy.record(null, 'snapshot')).toMatchObject({ code: 'PAL_BAN_INVALID' });
    expect(policy.record({ op: 'unban', tombstone: { target: '198.51.100.9', version: 1, node: 'n', actor: 'a', at: Date.now() } }, 'redis')).toMatchObject({
      op: 'unban',
    });
  });
});
