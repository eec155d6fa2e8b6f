/**
 * Public value types of the WAF engine. Everything here is re-exported by `index.ts`.
 *
 * Byte strings: every request value the engine sees (URI, header values, body) is a
 * "latin1 string": one UTF-16 code unit per byte, 0x00–0xFF. This is how Node's HTTP
 * parser hands out `req.url` and `req.rawHeaders`, and it lets the engine keep
 * ModSecurity's byte semantics (`\xNN` in regexes means a byte, transformations work
 * on bytes) without converting back and forth.
 */

/** The request as the engine sees it. All strings are latin1 byte strings (see above). */
export interface WafRequest {
  method: string;
  /** The request target exactly as received (not decoded), e.g. "/a%20b/c.php?x=1&y=2". */
  uri: string;
  /** e.g. "HTTP/1.1" */
  protocol: string;
  /** Header pairs in arrival order, names as received (Node's req.rawHeaders paired). */
  headers: ReadonlyArray<readonly [string, string]>;
  remoteAddress: string;
  remotePort: number;
  serverPort: number;
}

/** A file to load; when `text` is given it is used instead of reading `file`. */
export interface RuleSource {
  file: string;
  text?: string;
}

/** A problem found while loading: always names the file and line it comes from. */
export interface LoadError {
  file: string;
  line: number;
  message: string;
}

/** What the loader did, for logging at startup. */
export interface LoadReport {
  /** Rules (SecRule/SecAction, a chain counts once) in the compiled rule set. */
  rules: number;
  /** Regexes that needed a PCRE→JavaScript translation to compile. */
  translatedRegexes: number;
  /** Rules that could not be compiled (unsupported operator, bad regex…); the rest still load. */
  refused: LoadError[];
  /** Directives that do not apply to a request-only proxy, each with where it was read. */
  ignoredDirectives: Array<{ directive: string; file: string; line: number }>;
}

/** One rule (or chain, reported under its starter's id) that matched with `log` on. */
export interface RuleMatch {
  id: number;
  phase: number;
  msg: string;
  data: string;
  severity?: string;
  tags: string[];
  /** The variable that matched, e.g. "ARGS:var" or "REQUEST_URI". */
  variable: string;
  file: string;
  line: number;
}

/** A disruptive decision. Never produced when the engine runs in DetectionOnly. */
export interface Interruption {
  status: number;
  ruleId: number;
  action: 'deny' | 'drop' | 'redirect';
}

/** How the rule engine behaves (SecRuleEngine). */
export type EngineMode = 'On' | 'DetectionOnly' | 'Off';
