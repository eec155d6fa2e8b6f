import { describe, expect, it } from 'vitest';
import { BanTable, canonicalTarget } from '../../src/store/ban-table.js';
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

  it('canonicalises targets: full-length networks become IPs, host bits are cleared', () => {
    expect(canonicalTarget('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(canonicalTarget('192.0.2.1/32')).toBe('192.0.2.1');
    expect(canonicalTarget('192.0.2.77/24')).toBe('192.0.2.0/24');
    expect(canonicalTarget('nope')).toBeUndefined();
  });
});
