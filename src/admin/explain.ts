import { isoTime } from '../time.js';
import { canonicalIp, isLoopback } from '../net/ip.js';
import type { ExplainClient, ExplainFinding } from '../plugin/types.js';
import type { Ban, BanRecords } from '../store/types.js';
import type { BanView } from './bans-api.js';

/** A plugin's finding, named after its plugin, and whether it applies to this client. */
export type ExplainedFinding = ExplainFinding & { plugin: string; applies: boolean };

/** A ban covering the client, as the ban API shows it, and whether it applies (not to a whitelisted client). */
export type ExplainedBan = BanView & { applies: boolean };

/** What a node would do with a client right now, and why (`GET /api/explain`). */
export interface Explanation {
  ip: string;
  node: string;
  at: string;
  /** `SECURITY_MODE`: in `detect` nothing is refused; `verdict` says what would be. */
  mode: 'block' | 'detect';
  verdict: {
    /** `refuse`, `challenge` or `pass`: what the next request from this address meets first. */
    action: 'refuse' | 'challenge' | 'pass';
    status: number | null;
    because: string;
    /** In `detect` mode (where `action` is `pass`): what block mode would do. */
    wouldBe?: { action: 'refuse' | 'challenge'; status: number | null };
  };
  /** Loopback, or an address in `REAL_IP_FROM`: never limited, counted or banned automatically. */
  infrastructure: { loopback: boolean; trustedProxy: boolean };
  /** Whitelisted: no ban applies, no check runs. */
  exempt: boolean;
  bans: ExplainedBan[];
  findings: ExplainedFinding[];
}

export interface ExplainerDependencies {
  bans: BanRecords;
  /** A ban as the ban API shows it. */
  view(ban: Ban): BanView;
  /** Every plugin's findings, in request-path order. */
  findings(client: ExplainClient): Promise<Array<ExplainFinding & { plugin: string }>>;
  /** True when `ip` is in `REAL_IP_FROM`. */
  trustedProxy(ip: string): boolean;
  settings(): { mode: 'block' | 'detect'; denyStatus: number };
  nodeName: string;
  now?: () => number;
}

const REFUSING = new Set<ExplainFinding['effect']>(['deny', 'limit']);

/**
 * Answers "why is this client blocked?" the way the request path would decide: a whitelisted
 * client passes everything; otherwise a ban covering it (exact or a network) refuses it;
 * otherwise the first plugin that refuses or challenges, in plugin order. Reads only.
 * Returns undefined for an input that is not an IP address.
 */
export function createExplainer(deps: ExplainerDependencies): (ip: string) => Promise<Explanation | undefined> {
  const now = deps.now ?? Date.now;
  const iso = (ms: number | null): string | null => (ms === null ? null : isoTime(ms));
  return async (input) => {
    const ip = canonicalIp(input.trim());
    if (ip === undefined) return undefined;
    const loopback = isLoopback(ip);
    const trustedProxy = deps.trustedProxy(ip);
    const found = await deps.findings({ ip, infrastructure: loopback || trustedProxy });
    const exempt = found.some((finding) => finding.effect === 'exempt');
    const covering: Ban[] = deps.bans.covering(ip);
    const bans = covering.map((ban): ExplainedBan => ({ ...deps.view(ban), applies: !exempt }));
    const findings = found.map((finding): ExplainedFinding => ({ ...finding, applies: !exempt || finding.effect === 'exempt' || finding.effect === 'info' }));
    const { mode, denyStatus } = deps.settings();
    let verdict: Explanation['verdict'];
    // A rule scoped to some paths refuses there only: it does not decide for the client.
    const stopper = findings.find(
      (finding) => finding.applies && finding.scope === undefined && (REFUSING.has(finding.effect) || finding.effect === 'challenge'),
    );
    const scoped = findings.filter((finding) => finding.applies && finding.scope !== undefined && REFUSING.has(finding.effect));
    const except = scoped.length > 0 ? `; refused on ${scoped.map((finding) => `${finding.scope} (${finding.rule})`).join(', ')}` : '';
    if (exempt) {
      const by = findings.find((finding) => finding.effect === 'exempt')!;
      verdict = {
        action: 'pass',
        status: null,
        because: `whitelisted (${by.plugin}: ${by.rule})${covering.length > 0 ? `; ${covering.length} ban(s) cover it but do not apply` : ''}`,
      };
    } else if (covering.length > 0) {
      const ban = covering[0]!;
      verdict = {
        action: 'refuse',
        status: denyStatus,
        because: `banned: ${ban.target === ip ? ip : `${ban.target} covers ${ip}`} (${ban.reason}, by ${ban.actor} via ${ban.origin}, ${ban.expiresAt === null ? 'permanent' : `until ${iso(ban.expiresAt)}`})`,
      };
    } else if (stopper) {
      verdict = {
        action: stopper.effect === 'challenge' ? 'challenge' : 'refuse',
        status: stopper.status ?? denyStatus,
        because: `${stopper.plugin}: ${stopper.rule}: ${stopper.detail}`,
      };
    } else {
      verdict = { action: 'pass', status: null, because: `no ban covers it and no check refuses it now${except}` };
    }
    if (mode === 'detect' && verdict.action !== 'pass') {
      verdict = {
        action: 'pass',
        status: null,
        because: `SECURITY_MODE=detect: nothing is refused; in block mode: ${verdict.because}`,
        wouldBe: { action: verdict.action, status: verdict.status },
      };
    }
    return { ip, node: deps.nodeName, at: new Date(now()).toISOString(), mode, verdict, infrastructure: { loopback, trustedProxy }, exempt, bans, findings };
  };
}
