import { CidrSet } from '../net/ip.js';
import type { RequestContext } from './types.js';

/** What a list plugin matched, as a short reason suffix. */
export type ListMatch = 'ip' | 'ua' | 'uri';

/**
 * IP networks, User-Agent and path regular expressions compiled once at provision, tested in
 * that order (cheapest first). Settings were validated at boot, so compiling cannot fail here.
 */
export class RequestMatcher {
  private readonly ips: CidrSet;
  private readonly agents: RegExp[];
  private readonly paths: RegExp[];

  constructor(ips: readonly string[], agents: readonly string[], paths: readonly string[]) {
    this.ips = CidrSet.from(ips);
    this.agents = agents.map((source) => new RegExp(source));
    this.paths = paths.map((source) => new RegExp(source));
  }

  get empty(): boolean {
    return this.ips.size === 0 && this.agents.length === 0 && this.paths.length === 0;
  }

  /** True when `ip` (canonical) is in the networks. */
  hasIp(ip: string): boolean {
    return this.ips.has(ip);
  }

  /** True when some rule looks at the User-Agent or the path (not the address alone). */
  get byRequest(): boolean {
    return this.agents.length > 0 || this.paths.length > 0;
  }

  /** True when the network `cidr` and one of the listed networks share an address. */
  overlaps(cidr: string): boolean {
    return this.ips.overlaps(cidr);
  }

  /** The first kind of match for this request, if any. */
  match(ctx: RequestContext): ListMatch | undefined {
    if (this.ips.has(ctx.clientIp)) return 'ip';
    if (this.agents.length > 0) {
      const agent = ctx.req.headers['user-agent'] ?? '';
      if (this.agents.some((re) => re.test(agent))) return 'ua';
    }
    if (this.paths.some((re) => re.test(ctx.path))) return 'uri';
    return undefined;
  }
}
