import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { canonicalIp, CidrSet } from '../../src/net/ip.js';

/** The reference answer: ipaddr.js's own range match. */
function reference(cidrs: string[], ip: string): boolean {
  const address = ipaddr.process(ip);
  return cidrs.some((cidr) => {
    const [range, bits] = ipaddr.parseCIDR(cidr);
    return range.kind() === address.kind() && address.match(range, bits);
  });
}

describe('CidrSet', () => {
  const sets = [['203.0.113.0/24'], ['10.0.0.0/8', '192.168.1.1/32', '2001:db8::/32'], ['0.0.0.0/0'], ['255.255.255.255/32', '128.0.0.0/1'], ['2001:db8::/32']];

  it('answers like ipaddr.js for canonical IPv4 and IPv6 addresses, edges included', () => {
    const samples = [
      '203.0.113.0',
      '203.0.113.255',
      '203.0.112.255',
      '203.0.114.0',
      '10.255.255.255',
      '11.0.0.0',
      '192.168.1.1',
      '192.168.1.2',
      '0.0.0.0',
      '255.255.255.255',
      '127.255.255.255',
      '128.0.0.0',
      '2001:db8::1',
      '2001:db9::1',
      '::ffff:203.0.113.7',
    ];
    // A fixed pseudo-random walk (a failure must reproduce).
    let seed = 12345;
    const octet = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 16) & 255;
    for (let i = 0; i < 2000; i++) samples.push([octet(), octet(), octet(), octet()].join('.'));
    for (const cidrs of sets) {
      const set = CidrSet.from(cidrs);
      for (const sample of samples) {
        const ip = canonicalIp(sample)!;
        expect(set.has(ip), `${ip} in ${cidrs.join(' ')}`).toBe(reference(cidrs, ip));
      }
    }
  });

  it('is empty-safe', () => {
    expect(CidrSet.from([]).has('203.0.113.7')).toBe(false);
  });
});
