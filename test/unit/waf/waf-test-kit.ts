/** Small helpers for the engine tests: load rule text, run a request. */
import { loadRules, type LoadOptions, type RuleSet, type Transaction, type WafRequest } from '../../../src/waf/index.js';

/** Loads rule text; throws with every error when it does not load. */
export function load(text: string, options: Partial<LoadOptions> = {}): RuleSet {
  const r = loadRules({ files: [{ file: 'test.conf', text }], ...options });
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join('\n'));
  return r.ruleSet;
}

/** A request with sensible defaults. */
export function req(uri = '/', headers: Array<[string, string]> = [], method = 'GET'): WafRequest {
  return { method, uri, protocol: 'HTTP/1.1', headers: [['Host', 'example.com'], ...headers], remoteAddress: '192.0.2.1', remotePort: 40000, serverPort: 80 };
}

/** Runs both phases; returns the transaction and the interruption, if any. */
export function run(rs: RuleSet, request: WafRequest, body?: string | Buffer): { tx: Transaction; interruption: ReturnType<Transaction['processHeaders']> } {
  const tx = rs.begin(request);
  let interruption = tx.processHeaders();
  if (!interruption) {
    const buf = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1');
    interruption = tx.processBody(tx.wantsBody ? buf : undefined, false);
  }
  return { tx, interruption };
}

/** A POST with a body and its Content-Type. */
export function post(uri: string, contentType: string, body: string): [WafRequest, string] {
  return [
    req(
      uri,
      [
        ['Content-Type', contentType],
        ['Content-Length', String(Buffer.byteLength(body, 'latin1'))],
      ],
      'POST',
    ),
    body,
  ];
}

/** Ids of the rules that matched. */
export function ids(tx: Transaction): number[] {
  return tx.matches.map((m) => m.id);
}
