import { describe, expect, it } from 'vitest';
import { AddressTable } from '../../src/store/address-table.js';
import { BanMembership } from '../../src/store/ban-membership.js';

describe('BanMembership', () => {
  it('matches exact addresses and networks of both families, naming the covering target', () => {
    const table = new BanMembership(() => 1_000);
    table.set('192.0.2.1', null);
    table.set('0.0.0.0', 5_000);
    table.set('203.0.113.0/24', 5_000);
    table.set('10.0.0.0/8', null);
    table.set('2001:db8::1', null);
    table.set('2001:db8:abcd::/48', null);
    expect(table.match('192.0.2.1')).toEqual({ target: '192.0.2.1', expiresAt: null });
    expect(table.match('0.0.0.0')).toEqual({ target: '0.0.0.0', expiresAt: 5_000 });
    expect(table.match('192.0.2.2')).toBeUndefined();
    expect(table.match('203.0.113.77')).toEqual({ target: '203.0.113.0/24', expiresAt: 5_000 });
    expect(table.match('10.255.1.2')).toEqual({ target: '10.0.0.0/8', expiresAt: null });
    expect(table.match('203.0.114.1')).toBeUndefined();
    expect(table.match('2001:db8::1')).toEqual({ target: '2001:db8::1', expiresAt: null });
    expect(table.match('2001:db8:abcd:ffff::9')).toEqual({ target: '2001:db8:abcd::/48', expiresAt: null });
    expect(table.match('2001:db8:abce::1')).toBeUndefined();
    expect(table.get('203.0.113.0/24')).toEqual({ target: '203.0.113.0/24', expiresAt: 5_000 });
    expect(table.get('203.0.113.0/25')).toBeUndefined();
    expect(table.size).toBe(6);
    expect(table.delete('10.0.0.0/8')).toBe(true);
    expect(table.delete('10.0.0.0/8')).toBe(false);
    expect(table.match('10.255.1.2')).toBeUndefined();
    expect(table.set('not an ip', null)).toBe(false);
    expect(table.match('garbage')).toBeUndefined();
  });

  it('stops matching at expiry, sweeps expired entries and keeps permanent ones', () => {
    let now = 1_000;
    const table = new BanMembership(() => now);
    table.set('198.51.100.7', 2_000);
    table.set('198.51.100.0/24', 2_000);
    table.set('198.51.100.8', null);
    now = 2_000;
    expect(table.match('198.51.100.7')).toBeUndefined();
    expect(table.match('198.51.100.9')).toBeUndefined();
    expect(table.match('198.51.100.8')).toEqual({ target: '198.51.100.8', expiresAt: null });
    expect(table.sweep()).toBe(2);
    expect(table.size).toBe(1);
  });

  it('holds a million addresses through growth, replacement and deletion', () => {
    const table = new AddressTable(1);
    const key = new Uint32Array(1);
    for (let i = 0; i < 1_000_000; i++) {
      key[0] = (0x0a000000 + i * 7) >>> 0;
      table.set(key, i);
    }
    expect(table.size).toBe(1_000_000);
    let deleted = 0;
    for (let i = 0; i < 1_000_000; i += 2) {
      key[0] = (0x0a000000 + i * 7) >>> 0;
      if (table.delete(key)) deleted++;
    }
    expect(deleted).toBe(500_000);
    key[0] = (0x0a000000 + 7) >>> 0;
    table.set(key, 42);
    expect(table.get(key)).toBe(42);
    key[0] = 0x0a000000;
    expect(table.get(key)).toBeUndefined();
    expect(table.size).toBe(500_000);
    expect(table.sweep(100)).toBe(50);
    expect(table.size).toBe(499_950);
  });
});
