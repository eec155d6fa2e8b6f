import { describe, expect, it } from 'vitest';
import { canonicalIp, parseCidr } from '../../src/net/ip.js';
import type { IncomingMessage } from 'node:http';
import { createClientResolver } from '../../src/proxy/client-facts.js';

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

/** The parts of a request the resolver reads, on a fresh socket each time. */
function request(peer: string, headers: Record<string, string | string[]> = {}, encrypted = false): IncomingMessage {
  return { socket: { remoteAddress: peer, encrypted }, headers } as unknown as IncomingMessage;
}

describe('client facts', () => {
  const resolver = createClientResolver({ useRealIp: true, trusted: ['10.0.0.0/8'], header: 'X-Forwarded-For', recursive: true });

  it('ignores forwarding headers from an untrusted peer', () => {
    expect(resolver.resolve(request('203.0.113.9', { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https' }))).toEqual({
      ip: '203.0.113.9',
      peer: '203.0.113.9',
      trustedPeer: false,
      chain: [],
      scheme: 'http',
      infrastructure: false,
    });
  });

  it('reads right to left, skips trusted hops and believes the scheme of a trusted peer', () => {
    expect(resolver.resolve(request('::ffff:10.0.0.1', { 'x-forwarded-for': 'forged, 198.51.100.7, 10.0.0.2', 'x-forwarded-proto': 'HTTPS' }))).toEqual({
      ip: '198.51.100.7',
      peer: '10.0.0.1',
      trustedPeer: true,
      chain: ['10.0.0.2', '10.0.0.1'],
      scheme: 'https',
      infrastructure: false,
    });
  });

  it('treats a trusted peer without the header as the client, and as infrastructure', () => {
    expect(resolver.resolve(request('10.0.0.1', { 'x-forwarded-proto': 'https' }))).toMatchObject({
      ip: '10.0.0.1',
      trustedPeer: true,
      chain: [],
      scheme: 'https',
      infrastructure: true,
    });
  });

  it('takes the right-most scheme of a list: the one the trusted peer wrote', () => {
    expect(resolver.resolve(request('10.0.0.1', { 'x-forwarded-proto': 'https, http' })).scheme).toBe('http');
    expect(resolver.resolve(request('10.0.0.1', { 'x-forwarded-proto': 'http,https' })).scheme).toBe('https');
  });

  it('keeps the connection scheme when a trusted peer claims something else', () => {
    expect(resolver.resolve(request('10.0.0.1', { 'x-forwarded-proto': 'gopher' }, true)).scheme).toBe('https');
    expect(resolver.resolve(request('203.0.113.9', {}, true)).scheme).toBe('https');
  });

  it('joins repeated headers and accepts ports on entries', () => {
    expect(resolver.resolve(request('10.0.0.1', { 'x-forwarded-for': ['198.51.100.7:5555', '10.0.0.3'] })).ip).toBe('198.51.100.7');
    expect(resolver.resolve(request('10.0.0.1', { 'x-forwarded-for': '[2001:db8::7]:443' })).ip).toBe('2001:db8::7');
  });

  it('stops at garbage, keeping the last trusted address', () => {
    expect(resolver.resolve(request('10.0.0.1', { 'x-forwarded-for': '1.2.3.4, not-an-ip, 10.0.0.5' })).ip).toBe('10.0.0.5');
  });

  it('takes the right-most entry when not recursive', () => {
    const flat = createClientResolver({ useRealIp: true, trusted: ['10.0.0.0/8'], header: 'X-Forwarded-For', recursive: false });
    expect(flat.resolve(request('10.0.0.1', { 'x-forwarded-for': '198.51.100.7, 10.0.0.2' })).ip).toBe('10.0.0.2');
  });

  it('uses the peer when USE_REAL_IP is off, and still knows loopback and REAL_IP_FROM as infrastructure', () => {
    const off = createClientResolver({ useRealIp: false, trusted: ['10.0.0.0/8'], header: 'X-Forwarded-For', recursive: true });
    expect(off.resolve(request('10.0.0.1', { 'x-forwarded-for': '198.51.100.7' }))).toMatchObject({ ip: '10.0.0.1', trustedPeer: false, infrastructure: true });
    expect(off.resolve(request('127.0.0.1')).infrastructure).toBe(true);
    expect(off.resolve(request('::1')).infrastructure).toBe(true);
  });

  it('answers whether a ban target holds a trusted proxy', () => {
    expect(resolver.holdsTrustedProxy('10.1.2.3')).toBe(true);
    expect(resolver.holdsTrustedProxy('10.0.0.0/16')).toBe(true);
    expect(resolver.holdsTrustedProxy('8.0.0.0/6')).toBe(true);
    expect(resolver.holdsTrustedProxy('198.51.100.0/24')).toBe(false);
  });
});
