import type { ModsecuritySettings } from '../../src/settings/types.generated.js';
import { addAccessFields, definePlugin, deny, loadManifest, type RequestContext, type Verdict } from '../../src/plugin/index.js';
import type { Interruption, Transaction } from '../../src/waf/index.js';
import { buildRuleSet, engineModeOf, where, type RuleSettings } from './rules.js';
import { wafRequestOf } from './request-view.js';

/** The request's WAF transaction, between its phases. */
const TRANSACTION = Symbol('palisade.modsecurity');

/**
 * Bodies the engine parses (forms, multipart, JSON, XML) or reads as text: read and
 * inspected. Others (binary uploads) stream to the upstream uninspected, as ModSecurity
 * with the CRS has nothing to parse in them.
 */
const INSPECTED_BODY = /^(?:application\/(?:x-www-form-urlencoded|(?:[\w.+-]+\+)?json|(?:[\w.+-]+\+)?xml)|multipart\/|text\/)/i;

/**
 * The WAF: every request's line and headers (phase 1) and, when a rule needs it, its body
 * (phase 2) inspected by the OWASP Core Rule Set through Palisade's own SecLang engine. A
 * request the rules refuse — over the inbound anomaly threshold, a body that cannot be
 * parsed — is refused (the CRS's blocking status as `DENY_HTTP_STATUS`); the access line
 * names the rules that matched and the score, refused or not.
 */
export default definePlugin<ModsecuritySettings>({
  manifest: loadManifest('modsecurity'),
  checkSettings(settings, valid) {
    if (!settings.USE_MODSECURITY || settings.MODSECURITY_SEC_RULE_ENGINE === 'Off') return [];
    if (!['MODSECURITY_CRS_DIR', 'MODSECURITY_RULES_BEFORE_CRS', 'MODSECURITY_RULES_AFTER_CRS', 'MODSECURITY_PARANOIA_LEVEL', 'MODSECURITY_ANOMALY_THRESHOLD', 'MODSECURITY_REQUEST_BODY_LIMIT'].every(valid)) return [];
    const built = buildRuleSet(settings as unknown as RuleSettings);
    return built.ok ? [] : built.errors.map((error) => ({ name: error.setting, message: error.message }));
  },
  provision(ctx) {
    const s = ctx.settings as unknown as RuleSettings & Readonly<ModsecuritySettings>;
    if (engineModeOf(s) === 'Off') {
      if (ctx.duties.node) ctx.log.warn('MODSECURITY_SEC_RULE_ENGINE=Off: requests are not inspected');
      return {};
    }
    const built = buildRuleSet(s);
    if (!built.ok) throw new Error(built.errors.map((e) => `${e.setting}: ${e.message}`).join('; '));
    const { ruleSet, report } = built;
    if (ctx.duties.node) {
      if (built.crs === undefined && s.USE_MODSECURITY_CRS) ctx.log.warn({ dir: s.MODSECURITY_CRS_DIR }, 'no Core Rule Set found: serving the demo upstream without it (apt-get install modsecurity-crs)');
      ctx.log.info(
        { rules: report.rules, translatedRegexes: report.translatedRegexes, refused: report.refused.length, ignoredDirectives: report.ignoredDirectives.length, crs: built.crs ?? null, paranoia: s.MODSECURITY_PARANOIA_LEVEL, mode: ruleSet.engineMode, hash: ruleSet.hash.slice(0, 12) },
        'WAF rules loaded',
      );
      for (const refused of report.refused) ctx.log.warn({ rule: where(refused) }, `WAF rule left out: ${refused.message}`);
      const ignored = [...new Set(report.ignoredDirectives.map((d) => d.directive))];
      if (ignored.length > 0) ctx.log.info({ directives: ignored }, 'WAF directives read and ignored: they do not apply to a proxy that inspects requests');
    }
    const denyStatus = ctx.settings.DENY_HTTP_STATUS;
    const partial = s.MODSECURITY_REQUEST_BODY_LIMIT_ACTION === 'partial';
    const limit = s.MODSECURITY_REQUEST_BODY_LIMIT;

    /** The verdict of an interruption: the CRS's blocking status (403) as DENY_HTTP_STATUS, any other as the rule says. */
    const refuse = (interruption: Interruption | undefined): Verdict | undefined =>
      interruption === undefined ? undefined : deny(interruption.status === 403 ? denyStatus : interruption.status, 'modsecurity');

    /** What the access line says of the inspection: the rules matched, the score. */
    const note = (request: RequestContext, tx: Transaction): void => {
      if (tx.matches.length === 0) return;
      const score = Number(tx.tx('inbound_anomaly_score') || tx.tx('anomaly_score') || 0);
      addAccessFields(request, { waf: { rules: [...new Set(tx.matches.map((m) => m.id))], score } });
    };

    return {
      onRequest(request) {
        if (request.exempt) return undefined;
        const tx = ruleSet.begin(wafRequestOf(request));
        const early = refuse(tx.processHeaders());
        if (!early && tx.wantsBody && INSPECTED_BODY.test(String(request.req.headers['content-type'] ?? 'application/x-www-form-urlencoded'))) {
          request.locals.set(TRANSACTION, tx);
          return undefined;
        }
        // No body to wait for: phase 2 (where the CRS's blocking evaluation is) runs now.
        const verdict = early ?? refuse(tx.processBody(undefined, false));
        note(request, tx);
        return verdict;
      },
      inspectBody(request) {
        const tx = request.locals.get(TRANSACTION) as Transaction | undefined;
        if (!tx) return undefined;
        // Multipart uploads: their first part is inspected, file content past it is not.
        const multipart = /^multipart\//i.test(String(request.req.headers['content-type'] ?? ''));
        return {
          maxBytes: limit,
          overLimit: partial || multipart ? 'partial' : 'refuse',
          inspect(body, truncated) {
            const verdict = refuse(tx.processBody(body, truncated));
            note(request, tx);
            return verdict;
          },
        };
      },
    };
  },
});
