import { describe, expect, it } from 'vitest';
import { canonicalIp, parseCidr } from '../../src/net/ip.js';
import { createClientIpResolver } from '../../src/proxy/client-ip.js';

describe('canonicalIp', () => {
  it('maps IPv4-mapped IPv6 to IPv4 and normalises IPv6', () => {
    expect(canonicalIp('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(canonicalIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalIp('fe80::1%eth0')).toBe('fe80::1');
  });

  it('rejects garbage and legacy IPv4 forms', () => {
    for (const text of ['', 'abc', '10.1', '0x0a.0.0.1', '300.1.1.1', '1.2.3.4.5']) expect(canonicalIp(text)).toBeUndefined();
  });
});

describe('parseCidr', () => {
  it('clears host bits and bounds prefix lengths', () => {
    expect(parseCidr('10.1.2.3/8')?.text).toBe('10.0.0.0/8');
    expect(parseCidr('2001:db8::1/32')?.text).toBe('2001:db8::/32');
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('::/129')).toBeUndefined();
    expect(parseCidr('10.0.0.0/-1')).toBeUndefined();
  });
});

describe('client IP resolution', () => {
  const resolver = createClientIpResolver({ useRealIp: true, trusted: ['10.0.0.0/8'], header: 'X-Forwarded-For', recursive: true });

  it('ignores the header from an untrusted peer', () => {
    expect(resolver.resolve('203.0.113.9', '1.2.3.4')).toMatchObject({ ip: '203.0.113.9', trustedPeer: false });
  });

  it('reads right to left and skips trusted hops', () => {
    expect(resolver.resolve('::ffff:10.0.0.1', 'forged, 198.51.100.7, 10.0.0.2')).toEqual({
      ip: '198.51.100.7',
      peer: '10.0.0.1',
      trustedHops: ['10.0.0.2'],
      trustedPeer: true,
    });
  });

  it('joins repeated headers and accepts ports on entries', () => {
    expect(resolver.resolve('10.0.0.1', ['198.51.100.7:5555', '10.0.0.3']).ip).toBe('198.51.100.7');
    expect(resolver.resolve('10.0.0.1', '[2001:db8::7]:443').ip).toBe('2001:db8::7');
  });

  it('stops at garbage, keeping the last trusted address', () => {
    expect(resolver.resolve('10.0.0.1', '1.2.3.4, not-an-ip, 10.0.0.5').ip).toBe('10.0.0.5');
  });

  it('takes the right-most entry when not recursive', () => {
    const flat = createClientIpResolver({ useRealIp: true, trusted: ['10.0.0.0/8'], header: 'X-Forwarded-For', recursive: false });
    expect(flat.resolve('10.0.0.1', '198.51.100.7, 10.0.0.2').ip).toBe('10.0.0.2');
  });

  it('uses the peer when USE_REAL_IP is off', () => {
    const off = createClientIpResolver({ useRealIp: false, trusted: ['10.0.0.0/8'], header: 'X-Forwarded-For', recursive: true });
    expect(off.resolve('10.0.0.1', '198.51.100.7').ip).toBe('10.0.0.1');
  });
});
