import { describe, expect, it } from 'vitest';
import { AddressTable } from '../../src/store/address-table.js';
import { TargetIndex } from '../../src/store/target-index.js';

describe('TargetIndex', () => {
  it('matches exact addresses and networks of both families, naming the covering target and its number', () => {
    const index = new TargetIndex();
    index.set('192.0.2.1', 1);
    index.set('0.0.0.0', 2);
    index.set('203.0.113.0/24', 3);
    index.set('10.0.0.0/8', 4);
    index.set('2001:db8::1', 5);
    index.set('2001:db8:abcd::/48', 6);
    const any = (): boolean => true;
    expect(index.match('192.0.2.1', any)).toEqual({ target: '192.0.2.1', value: 1 });
    expect(index.match('0.0.0.0', any)).toEqual({ target: '0.0.0.0', value: 2 });
    expect(index.match('192.0.2.2', any)).toBeUndefined();
    expect(index.match('203.0.113.77', any)).toEqual({ target: '203.0.113.0/24', value: 3 });
    expect(index.match('10.255.1.2', any)).toEqual({ target: '10.0.0.0/8', value: 4 });
    expect(index.match('203.0.114.1', any)).toBeUndefined();
    expect(index.match('2001:db8::1', any)).toEqual({ target: '2001:db8::1', value: 5 });
    expect(index.match('2001:db8:abcd:ffff::9', any)).toEqual({ target: '2001:db8:abcd::/48', value: 6 });
    expect(index.match('2001:db8:abce::1', any)).toBeUndefined();
    expect(index.get('203.0.113.0/24')).toBe(3);
    expect(index.get('203.0.113.0/25')).toBeUndefined();
    expect(index.size).toBe(6);
    expect(index.delete('10.0.0.0/8')).toBe(true);
    expect(index.delete('10.0.0.0/8')).toBe(false);
    expect(index.match('10.255.1.2', any)).toBeUndefined();
    expect(index.set('not an ip', 7)).toBe(false);
    expect(index.match('garbage', any)).toBeUndefined();
  });

  it('takes only what `accept` takes (an expired entry, say), and goes on to the networks', () => {
    const index = new TargetIndex();
    index.set('198.51.100.7', 10);
    index.set('198.51.100.0/24', 20);
    expect(index.match('198.51.100.7', (value) => value > 10)).toEqual({ target: '198.51.100.0/24', value: 20 });
    expect(index.match('198.51.100.7', () => false)).toBeUndefined();
    expect(index.covering('198.51.100.7')).toEqual([10, 20]);
  });

  it('sweeps what `drop` says, and keeps only canonical targets', () => {
    const index = new TargetIndex();
    index.set('198.51.100.7', 2_000);
    index.set('198.51.100.0/24', 2_000);
    index.set('198.51.100.8', Infinity);
    expect(index.sweep((expiry) => expiry <= 2_000)).toBe(2);
    expect(index.size).toBe(1);
    // Another spelling of a target is not one: it could never be lifted by its canonical text.
    expect(index.set('198.051.100.9', 1)).toBe(false);
    expect(index.set('2001:DB8::9', 1)).toBe(false);
    expect(index.set('198.51.100.9/32', 1)).toBe(false);
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
    expect(table.sweep((value) => value < 100)).toBe(50);
    expect(table.size).toBe(499_950);
  });
});
