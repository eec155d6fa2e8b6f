import type { ModsecuritySettings } from '../../src/settings/types.generated.js';
import {
  addAccessFields,
  addEvidence,
  definePlugin,
  deny,
  loadManifest,
  type ExplainFinding,
  type RequestContext,
  type Verdict,
} from '../../src/plugin/index.js';
import type { Interruption, Transaction } from '../../src/waf/index.js';
import { detectionsOf } from './categories.js';
import { Detections, type DetectionNote } from './detections.js';
import { registerWafMetrics } from './metrics.js';
import { buildRuleSet, engineModeOf, ruleFileFingerprints, where, type RuleSettings } from './rules.js';
import { wafRequestOf } from './request-view.js';

/** The request's WAF transaction between its phases, and the time its headers took. */
const TRANSACTION = Symbol('palisade.modsecurity');

/**
 * Bodies the engine parses (forms, multipart, JSON, XML) or reads as text: read and
 * inspected. Others (binary uploads) stream to the upstream uninspected, as ModSecurity
 * with the CRS has nothing to parse in them.
 */
const INSPECTED_BODY = /^(?:application\/(?:x-www-form-urlencoded|(?:[\w.+-]+\+)?json|(?:[\w.+-]+\+)?xml)|multipart\/|text\/)/i;

/** Rule ids a ban's evidence names per request, at most. */
const EVIDENCE_RULES = 5;
/** Rule matches `explain` lists, newest first, at most. */
const EXPLAIN_EVENTS = 20;

/**
 * The WAF: every request's line and headers (phase 1) and, when a rule needs it, its body
 * (phase 2) inspected by the OWASP Core Rule Set through Palisade's own SecLang engine. A
 * request the rules refuse — over the inbound anomaly threshold, a body that cannot be
 * parsed — is refused (the CRS's blocking status as `DENY_HTTP_STATUS`); the access line
 * names the rules that matched and the score, refused or not. A refusal is bad behaviour
 * like any refused request (its status counts), and names its rules and categories in the
 * evidence of the ban it may lead to; the node keeps each client's recent matches for
 * `explain`, the last day's refusals by rule and path for the review page, and reports the
 * hash of its rules in its heartbeat so the cluster view flags a node whose rules differ.
 */
export default definePlugin<ModsecuritySettings>({
  manifest: loadManifest('modsecurity'),
  fileFingerprints: (settings) => (settings.USE_MODSECURITY ? ruleFileFingerprints(settings) : {}),
  async checkSettings(settings, valid) {
    if (!settings.USE_MODSECURITY || settings.MODSECURITY_SEC_RULE_ENGINE === 'Off') return [];
    if (
      ![
        'MODSECURITY_CRS_DIR',
        'MODSECURITY_RULES_BEFORE_CRS',
        'MODSECURITY_RULES_AFTER_CRS',
        'MODSECURITY_PARANOIA_LEVEL',
        'MODSECURITY_ANOMALY_THRESHOLD',
        'MODSECURITY_REQUEST_BODY_LIMIT',
      ].every(valid)
    )
      return [];
    const built = await buildRuleSet(settings as unknown as RuleSettings);
    return built.ok ? [] : built.errors.map((error) => ({ name: error.setting, message: error.message }));
  },
  async provision(ctx) {
    const s = ctx.settings as unknown as RuleSettings & Readonly<ModsecuritySettings>;
    if (engineModeOf(s) === 'Off') {
      if (ctx.duties.node) ctx.log.warn('MODSECURITY_SEC_RULE_ENGINE=Off: requests are not inspected');
      return {};
    }
    const built = await buildRuleSet(s);
    if (!built.ok) throw new Error(built.errors.map((e) => `${e.setting}: ${e.message}`).join('; '));
    const { ruleSet, report } = built;
    if (ctx.duties.node) {
      if (built.crs === undefined && s.USE_MODSECURITY_CRS)
        ctx.log.warn({ dir: s.MODSECURITY_CRS_DIR }, 'no Core Rule Set found: serving the demo upstream without it (apt-get install modsecurity-crs)');
      ctx.log.info(
        {
          rules: report.rules,
          translatedRegexes: report.translatedRegexes,
          refused: report.refused.length,
          ignoredDirectives: report.ignoredDirectives.length,
          crs: built.crs ?? null,
          paranoia: s.MODSECURITY_PARANOIA_LEVEL,
          mode: ruleSet.engineMode,
          hash: ruleSet.hash.slice(0, 12),
        },
        'WAF rules loaded',
      );
      for (const refused of report.refused) ctx.log.warn({ rule: where(refused) }, `WAF rule left out: ${refused.message}`);
      const ignored = [...new Set(report.ignoredDirectives.map((d) => d.directive))];
      if (ignored.length > 0) ctx.log.info({ directives: ignored }, 'WAF directives read and ignored: they do not apply to a proxy that inspects requests');
    }
    const denyStatus = ctx.settings.DENY_HTTP_STATUS;
    const partial = s.MODSECURITY_REQUEST_BODY_LIMIT_ACTION === 'partial';
    const limit = s.MODSECURITY_REQUEST_BODY_LIMIT;
    const mode = ctx.settings.SECURITY_MODE === 'detect' ? 'detect' : 'block';
    const metrics = registerWafMetrics(ctx.metrics);
    // The node's side: what its request processes saw (notes), for explain and the review page.
    const detections = ctx.duties.node ? new Detections() : undefined;
    const fingerprint = ruleSet.hash.slice(0, 16);

    /** The verdict of an interruption: the CRS's blocking status (403) as DENY_HTTP_STATUS, any other as the rule says. */
    const refuse = (interruption: Interruption | undefined): Verdict | undefined =>
      interruption === undefined ? undefined : deny(interruption.status === 403 ? denyStatus : interruption.status, 'modsecurity');

    /**
     * The inspection's end: the access line's rules and score, the metrics, and for a request
     * some detecting rule matched, the evidence a ban would show and a note to the node.
     */
    const finish = (request: RequestContext, tx: Transaction, verdict: Verdict | undefined, started: bigint): Verdict | undefined => {
      metrics.inspected(Number(process.hrtime.bigint() - started) / 1e9);
      if (tx.matches.length === 0) return verdict;
      const score = Number(tx.tx('inbound_anomaly_score') || tx.tx('anomaly_score') || 0);
      addAccessFields(request, { waf: { rules: [...new Set(tx.matches.map((m) => m.id))], score } });
      const { rules, categories } = detectionsOf(tx.matches);
      if (categories.length > 0) metrics.matched(categories);
      const refused = verdict !== undefined;
      if (refused) {
        metrics.refused(categories, mode);
        const ids = [...new Set((rules.length > 0 ? rules : tx.matches).map((m) => m.id))].slice(0, EVIDENCE_RULES);
        addEvidence(request, `waf ${ids.join(',')}${categories.length > 0 ? ` ${categories.join(',')}` : ''}`);
      }
      if (rules.length > 0 || refused) {
        const note: DetectionNote = {
          ip: request.clientIp,
          at: Date.now(),
          method: request.method,
          path: request.path.slice(0, 200),
          rules: rules.slice(0, EVIDENCE_RULES).map((m) => [m.id, m.msg.slice(0, 200)]),
          categories,
          refused,
        };
        ctx.tellNode(note);
      }
      return verdict;
    };

    return {
      onRequest(request) {
        if (request.exempt) return undefined;
        const started = process.hrtime.bigint();
        const tx = ruleSet.begin(wafRequestOf(request));
        const early = refuse(tx.processHeaders());
        if (!early && tx.wantsBody && INSPECTED_BODY.test(String(request.req.headers['content-type'] ?? 'application/x-www-form-urlencoded'))) {
          request.locals.set(TRANSACTION, { tx, headersNs: process.hrtime.bigint() - started });
          return undefined;
        }
        // No body to wait for: phase 2 (where the CRS's blocking evaluation is) runs now.
        return finish(request, tx, early ?? refuse(tx.processBody(undefined, false)), started);
      },
      inspectBody(request) {
        const pending = request.locals.get(TRANSACTION) as { tx: Transaction; headersNs: bigint } | undefined;
        if (!pending) return undefined;
        const { tx, headersNs } = pending;
        // Multipart uploads: their first part is inspected, file content past it is not.
        const multipart = /^multipart\//i.test(String(request.req.headers['content-type'] ?? ''));
        return {
          maxBytes: limit,
          overLimit: partial || multipart ? 'partial' : 'refuse',
          inspect(body, truncated) {
            // The rules' own time: phase 1's, and phase 2's (the wait for the body is the client's).
            return finish(request, tx, refuse(tx.processBody(body, truncated)), process.hrtime.bigint() - headersNs);
          },
        };
      },
      onNote(note) {
        if (isDetectionNote(note)) detections?.add(note);
      },
      fingerprints: () => ({ rules: fingerprint }),
      explain(client): ExplainFinding[] {
        const recent = detections?.recent(client.ip) ?? [];
        if (recent.length === 0) return [];
        const refused = recent.filter((n) => n.refused).length;
        const last = recent[0]!;
        return [
          {
            effect: 'info',
            rule: 'USE_MODSECURITY',
            detail: `${recent.length} recent request(s) matched WAF rules on this node, ${refused} refused${mode === 'detect' ? ' (or would have been: SECURITY_MODE=detect)' : ''}; the last at ${new Date(last.at).toISOString()}: ${last.method} ${last.path} (${last.rules.map(([id]) => id).join(', ') || 'no detecting rule'}${last.categories.length > 0 ? `; ${last.categories.join(', ')}` : ''})`,
            events: recent
              .flatMap((n) =>
                n.rules.map(([id, message]) => ({ at: new Date(n.at).toISOString(), rule: String(id), message, request: `${n.method} ${n.path}` })),
              )
              .slice(0, EXPLAIN_EVENTS),
          },
        ];
      },
      summary() {
        if (!detections) return undefined;
        const day = detections.lastDay();
        return {
          title: mode === 'detect' ? 'WAF: what would have been refused (last 24 h, SECURITY_MODE=detect)' : 'WAF: refused (last 24 h)',
          note: `${day.refused} request(s) on this node; rules ${fingerprint}. Read before switching to block: a rule that refuses your own traffic wants an exclusion (MODSECURITY_RULES_AFTER_CRS).`,
          tables: [
            { id: 'waf-rules', caption: 'Top rules', columns: ['Rule', 'Requests'], rows: day.rules.map(([rule, count]) => [rule, String(count)]) },
            { id: 'waf-paths', caption: 'Top paths', columns: ['Request', 'Requests'], rows: day.paths.map(([path, count]) => [path, String(count)]) },
          ],
        };
      },
    };
  },
});

/** True for a note this plugin's request side sends (a note is JSON from another process). */
function isDetectionNote(note: unknown): note is DetectionNote {
  const n = note as Partial<DetectionNote> | null;
  return (
    typeof n === 'object' &&
    n !== null &&
    typeof n.ip === 'string' &&
    typeof n.at === 'number' &&
    typeof n.path === 'string' &&
    Array.isArray(n.rules) &&
    Array.isArray(n.categories)
  );
}
