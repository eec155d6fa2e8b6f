/** `@ipMatch` and `@ipMatchFromFile`: the value is an IPv4/IPv6 address inside a listed network. */
import ipaddr from 'ipaddr.js';
import { readDataLines } from './data-file.js';
import type { Operator, OperatorFactory } from './types.js';

type Network = [ipaddr.IPv4 | ipaddr.IPv6, number];

function parseNetworks(items: string[]): Network[] | string {
  const nets: Network[] = [];
  for (const item of items) {
    try {
      if (item.includes('/')) nets.push(ipaddr.parseCIDR(item));
      else {
        const addr = ipaddr.parse(item);
        nets.push([addr, addr.kind() === 'ipv4' ? 32 : 128]);
      }
    } catch {
      return `invalid IP address or network '${item}'`;
    }
  }
  return nets;
}

/** Verdicts remembered per operator: parsing an address costs microseconds, and client addresses repeat. */
const MEMO_ENTRIES = 1024;

function matcher(nets: Network[]): Operator {
  const memo = new Map<string, boolean>();
  const test = (value: string): boolean => {
    if (!ipaddr.isValid(value)) return false;
    let addr = ipaddr.parse(value);
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
    for (const [net, bits] of nets) {
      if (net.kind() === addr.kind() && addr.match(net, bits)) return true;
    }
    return false;
  };
  return (value) => {
    if (value.length > 64) return test(value);
    let known = memo.get(value);
    if (known === undefined) {
      known = test(value);
      if (memo.size >= MEMO_ENTRIES) memo.clear();
      memo.set(value, known);
    }
    return known;
  };
}

/** `@ipMatch 10.0.0.0/8,192.168.1.1,::1` — comma-separated. */
export const ipMatch: OperatorFactory = (param) => {
  const nets = parseNetworks(
    param.text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  return typeof nets === 'string' ? nets : matcher(nets);
};

/** `@ipMatchFromFile file` — one address or network per line. */
export const ipMatchFromFile: OperatorFactory = (param, ctx) => {
  const lines = readDataLines(param.text, ctx.baseDir);
  if (typeof lines === 'string') return lines;
  const nets = parseNetworks(lines.map((l) => l.trim()));
  return typeof nets === 'string' ? nets : matcher(nets);
};
