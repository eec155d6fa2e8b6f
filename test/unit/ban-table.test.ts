import { describe, expect, it } from 'vitest';
import { canonicalTarget } from '../../src/net/ip.js';
import { BanTable } from '../../src/store/ban-table.js';
import type { Ban } from '../../src/store/types.js';

const ban = (target: string, expiresAt: number | null = null): Ban => ({
  target,
  reason: 'test',
  origin: 'test',
  actor: 'test',
  node: 'n1',
  createdAt: 0,
  expiresAt,
  evidence: '',
  version: 1,
});

describe('BanTable', () => {
  it('matches exact IPs and networks of both families', () => {
    let now = 1_000;
    const table = new BanTable(() => now);
    table.set(ban('192.0.2.1'));
    table.set(ban('203.0.113.0/24'));
    table.set(ban('2001:db8::/32'));
    expect(table.match('192.0.2.1')?.target).toBe('192.0.2.1');
    expect(table.match('192.0.2.2')).toBeUndefined();
    expect(table.match('203.0.113.77')?.target).toBe('203.0.113.0/24');
    expect(table.match('203.0.114.1')).toBeUndefined();
    expect(table.match('2001:db8:ffff::1')?.target).toBe('2001:db8::/32');
    expect(table.match('2001:db9::1')).toBeUndefined();
    expect(table.size).toBe(3);
    now = 2_000;
    expect(table.delete('203.0.113.0/24')).toBe(true);
    expect(table.match('203.0.113.77')).toBeUndefined();
  });

  it('stops matching at expiry and sweeps expired entries', () => {
    let now = 1_000;
    const table = new BanTable(() => now);
    table.set(ban('192.0.2.1', 1_500));
    table.set(ban('198.51.100.0/24', 1_500));
    table.set(ban('192.0.2.9', null));
    expect(table.match('192.0.2.1')).toBeDefined();
    now = 1_500;
    expect(table.list().map((b) => b.target)).toEqual(['192.0.2.9']);
    expect(table.sweep().map((b) => b.target)).toEqual(['192.0.2.1', '198.51.100.0/24']);
    expect(table.match('192.0.2.1')).toBeUndefined();
    expect(table.match('198.51.100.7')).toBeUndefined();
    expect(table.size).toBe(1);
  });

  it('gives back each ban as it was set, through replacements, deletions and reused slots', () => {
    const table = new BanTable(() => 1_000);
    const first: Ban = {
      target: '192.0.2.1',
      reason: 'scan',
      origin: 'bad-behavior',
      actor: 'bad-behavior',
      node: 'n1',
      createdAt: 10,
      expiresAt: 5_000,
      evidence: 'GET /wp-login 404',
      version: 7,
    };
    table.set(first);
    table.set({ ...first, target: '192.0.2.2', reason: 'other', evidence: '', version: 8 });
    expect(table.get('192.0.2.1')).toEqual(first);
    expect(table.stampOf('192.0.2.2')).toEqual({ version: 8, node: 'n1' });
    // A replacement keeps nothing of the ban it replaces.
    const renewed: Ban = { ...first, reason: 'renewed', actor: 'api', evidence: '', expiresAt: null, version: 9 };
    table.set(renewed);
    expect(table.get('192.0.2.1')).toEqual(renewed);
    expect(table.size).toBe(2);
    // A freed slot taken by another ban carries nothing of the one before.
    expect(table.delete('192.0.2.1')).toBe(true);
    const next: Ban = {
      target: '2001:db8::/48',
      reason: 'scan',
      origin: 'api',
      actor: 'zoe',
      node: 'n2',
      createdAt: 20,
      expiresAt: 9_000,
      evidence: '',
      version: 10,
    };
    table.set(next);
    expect(table.get('2001:db8::/48')).toEqual(next);
    expect(table.get('192.0.2.1')).toBeUndefined();
    expect([...table.entries()].sort()).toEqual([
      ['192.0.2.2', 5_000],
      ['2001:db8::/48', 9_000],
    ]);
    expect([...table.bans()].map((b) => b.reason).sort()).toEqual(['other', 'scan']);
  });

  it('keeps IPv4 addresses as numbers and other targets as text, whatever slot each reuses', () => {
    const table = new BanTable(() => 1_000);
    const targets = ['192.0.2.7', '2001:db8::9', '198.51.100.0/24', '203.0.113.5'];
    for (const target of targets) table.set(ban(target, 5_000));
    // Text slots freed and taken by addresses, an address slot by a network.
    table.delete('2001:db8::9');
    table.delete('198.51.100.0/24');
    table.delete('192.0.2.7');
    table.set(ban('192.0.2.8', 6_000));
    table.set(ban('192.0.2.9', 6_000));
    table.set(ban('2001:db8::/64', 7_000));
    const expected = [
      ['192.0.2.8', 6_000],
      ['192.0.2.9', 6_000],
      ['2001:db8::/64', 7_000],
      ['203.0.113.5', 5_000],
    ];
    expect([...table.entries()].sort()).toEqual(expected);
    expect(table.match('192.0.2.9')?.target).toBe('192.0.2.9');
    expect(table.match('192.0.2.7')).toBeUndefined();
    expect(table.match('2001:db8::1')?.target).toBe('2001:db8::/64');
    // The digest is the one of a table holding just these bans.
    const fresh = new BanTable(() => 1_000);
    for (const [target, expiresAt] of expected) fresh.set(ban(target as string, expiresAt as number));
    expect(table.digest.from(0)).toBe(fresh.digest.from(0));
    // Only canonical targets: another spelling (leading zeros, a /32) could never be lifted by
    // its canonical text. The ban policy lets none in; the table refuses them too.
    expect(() => table.set(ban('010.0.0.1', 8_000))).toThrow(TypeError);
    expect(() => table.set(ban('203.0.113.6/32', 8_000))).toThrow(TypeError);
    expect(table.get('10.0.0.1')).toBeUndefined();
    expect(table.size).toBe(4);
  });

  it('holds bans past its first columns and lists them all', () => {
    const table = new BanTable(() => 1_000);
    for (let i = 0; i < 5_000; i++) table.set(ban(`10.0.${i >> 8}.${i & 255}`, 2_000 + i));
    expect(table.size).toBe(5_000);
    expect(table.get('10.0.19.135')?.expiresAt).toBe(2_000 + 19 * 256 + 135);
    expect(table.list()).toHaveLength(5_000);
  });

  it('counts active bans by origin and reason without the expired, and finds every ban covering an address', () => {
    let now = 1_000;
    const table = new BanTable(() => now);
    table.set({ ...ban('192.0.2.1'), origin: 'api', reason: 'scan' });
    table.set({ ...ban('192.0.2.0/24'), origin: 'api', reason: 'scan' });
    table.set({ ...ban('192.0.0.0/16', 5_000), origin: 'bad-behavior', reason: 'bad-behavior' });
    table.set({ ...ban('198.51.100.1', 2_000), origin: 'import', reason: 'scan' });
    expect(table.covering('192.0.2.1').map((b) => b.target)).toEqual(['192.0.2.1', '192.0.2.0/24', '192.0.0.0/16']);
    now = 3_000;
    expect(table.tally()).toEqual({
      total: 3,
      byOrigin: new Map([
        ['api', 2],
        ['bad-behavior', 1],
      ]),
      byReason: new Map([
        ['scan', 2],
        ['bad-behavior', 1],
      ]),
    });
  });

  it('canonicalises targets: full-length networks become IPs, host bits are cleared', () => {
    expect(canonicalTarget('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(canonicalTarget('192.0.2.1/32')).toBe('192.0.2.1');
    expect(canonicalTarget('192.0.2.77/24')).toBe('192.0.2.0/24');
    expect(canonicalTarget('nope')).toBeUndefined();
  });
});
