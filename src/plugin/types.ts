import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { PluginManifest } from '../settings/manifest.js';
import type { SettingError } from '../settings/errors.js';
import type { Settings, SettingsDeriver } from '../settings/load.js';
import type { CoreSettings } from '../settings/types.generated.js';
import type { ClusterStore } from '../store/types.js';
import type { Verdict } from './verdict.js';
import type { LocalState, SharedBackend } from '../store/shared-backend.js';

/** A value or a promise of it: synchronous hooks are called without an await. */
export type MaybePromise<T> = T | Promise<T>;

/** What hooks know about the request in flight. One object per request, shared by all hooks. */
export interface RequestContext {
  /** Unique id, sent upstream and to the client as `X-Request-Id`, and logged. */
  readonly id: string;
  /** Canonical client IP: the socket peer, or what a trusted proxy (`REAL_IP_FROM`) said. */
  readonly clientIp: string;
  /** True when the socket peer is a trusted proxy whose forwarding headers were believed. */
  readonly trustedPeer: boolean;
  /** The scheme the client used: a trusted peer's `X-Forwarded-Proto`, else this connection's. */
  readonly scheme: 'http' | 'https';
  /**
   * True when the client is infrastructure, not a visitor: loopback or an address in
   * `REAL_IP_FROM`. Security plugins leave it alone (limiting a load balancer takes the site down).
   */
  readonly infrastructure: boolean;
  /** `http` for a plain request, `websocket` for an upgrade handshake. */
  readonly kind: 'http' | 'websocket';
  readonly req: IncomingMessage;
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /** `process.hrtime.bigint()` when the request arrived. */
  readonly startedAt: bigint;
  /** Scratch space for plugins; key by a symbol of your own. */
  readonly locals: Map<symbol, unknown>;
  /**
   * True when a plugin exempted this client (whitelist): it skipped the ban gate, and
   * security plugins leave it alone (no limits, no counting, no bans).
   */
  readonly exempt: boolean;
}

/** The upstream answer as `onSend` sees it: headers may still be changed. */
export interface UpstreamResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
}

/** How the request ended, given to `onResponse`. */
export interface RequestOutcome {
  status: number;
  /** `pass` when proxied, otherwise the verdict kind (`ban`, `deny`, …) or `error`; `detect:<kind>` when `SECURITY_MODE=detect` let through what `<kind>` would have refused. */
  verdict: string;
  /** The verdict's reason (`ban`, `blacklist.ip`, `upstream.timeout`, …) when not proxied. */
  reason: string | undefined;
  /** True when the client went away before the response finished. */
  aborted: boolean;
  durationMs: number;
}

/** An admin request as plugin routes see it. */
export interface AdminRequest {
  method: string;
  /** Path relative to the plugin's mount point, starting with `/`. */
  path: string;
  /** For a route declared as `/prefix/*`: the decoded rest of the path. */
  param?: string;
  /** Who is acting, as the audit trail names them: the identity's name. */
  actor: string;
  /** True when the caller proved an identity (a token, the page's sign-in cookie, the auth proxy) with a role. */
  authorized: boolean;
  /** How the caller proved itself, when it did. */
  identity: AdminIdentity | undefined;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Reads the body (bounded); rejects with a 413-mapped error when too large. */
  body(): Promise<Buffer>;
}

/**
 * Who is calling the admin API, how they proved it, and their role (`null`: an auth-proxy
 * user no `ADMIN_AUTH_PROXY_ROLES` grant covers — known, allowed nothing).
 */
export type AdminIdentity = { name: string; role: import('../settings/credentials.js').AdminRole | null } & (
  | { via: 'bearer' }
  /** The review page's sign-in: a server-side session; `csrf` is its per-session value. */
  | { via: 'session'; sessionId: string; csrf: string }
  /** A user the trusted auth proxy (`ADMIN_AUTH_PROXY_FROM`) names; `csrf` is derived from the name. */
  | { via: 'proxy'; csrf: string }
  /** No credential configured (loopback-only admin, enforced at boot): anyone local, as an operator named `local`. */
  | { via: 'open'; csrf: string }
);

/** What an admin route answers. Exactly one of `json`, `text` or `html` is used. */
export interface AdminResponse {
  status?: number;
  headers?: Record<string, string>;
  json?: unknown;
  text?: string;
  html?: string;
}

/** A route a plugin mounts under `/plugins/<id>/` on the admin listener. */
export interface AdminRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Relative path, e.g. `/ping`; a core route may end in `/*` to take one more segment. */
  path: string;
  /** Reached without the token; the handler checks `request.authorized` itself. */
  public?: boolean;
  /** The least role that may call it; by default `viewer` for GET and `operator` for every other method. */
  role?: import('../settings/credentials.js').AdminRole;
  /**
   * An HTML form action of a page: it checks the page's CSRF value in its form fields
   * itself. Other state-changing routes reached with the sign-in cookie need the value in
   * an `X-CSRF-Token` header, which no cross-site form can send.
   */
  form?: boolean;
  /** Media types the body may have (`application/json`, `text/csv`); others get 415. */
  accepts?: readonly string[];
  handle(request: AdminRequest): MaybePromise<AdminResponse>;
}

/** The client an explanation is asked for (`GET /api/explain`). */
export interface ExplainClient {
  /** Canonical IP. */
  ip: string;
  /** Loopback or in `REAL_IP_FROM`: never limited, counted or banned automatically. */
  infrastructure: boolean;
}

/** One rule of a plugin that bears on a client, and what it would do now. */
export interface ExplainFinding {
  /**
   * `exempt`: the client skips bans and checks; `deny`, `limit`: its next request is refused
   * (with `status` when not the deny status); `challenge`: it is challenged; `watch`: counted
   * towards a refusal, not there yet; `info`: a rule that depends on the request (its path,
   * its User-Agent, its session), not on the address.
   */
  effect: 'exempt' | 'deny' | 'limit' | 'challenge' | 'watch' | 'info';
  /** The setting behind it (`WHITELIST_IP`, `LIMIT_REQ_RATE_1`). */
  rule: string;
  /** For people: what it matched and what it would do. */
  detail: string;
  status?: number;
  /** The paths it bears on, when not every path (a refusal there does not refuse the client everywhere). */
  scope?: string;
  /** What this node saw of the client that bears on it, newest first (the WAF's recent matches). */
  events?: ExplainEvent[];
}

/** One thing a node saw a client do (`ExplainFinding.events`). */
export interface ExplainEvent {
  /** ISO time. */
  at: string;
  /** The rule (`942100`). */
  rule: string;
  /** What the rule says it found. */
  message: string;
  /** The request: method and path, no query, no body. */
  request: string;
}

/** A table a plugin adds to the review page (`PluginHooks.summary`); every cell is text. */
export interface PluginSummary {
  title: string;
  /** One line under the title. */
  note?: string;
  tables: Array<{ id: string; caption: string; columns: string[]; rows: string[][] }>;
}

/**
 * A plugin's request for the body (a WAF): the proxy reads at most `maxBytes` of it before
 * `preProxy`, hands them to `inspect`, then forwards the body whole.
 */
export interface BodyInspection {
  /** Bytes to read at most (more are not read before the verdict). */
  maxBytes: number;
  /** A body longer than `maxBytes`: `refuse` answers 413 without inspecting it; `partial` inspects its first `maxBytes`. */
  overLimit: 'refuse' | 'partial';
  /** The body's first bytes (`truncated`: the client sent more); a verdict refuses the request. */
  inspect(body: Buffer, truncated: boolean): MaybePromise<Verdict | undefined | void>;
}

/** What a plugin contributes once provisioned. Every hook is optional. */
export interface PluginHooks {
  /** May stop the request with a verdict; the first verdict wins. */
  onRequest?(ctx: RequestContext): MaybePromise<Verdict | undefined | void>;
  /**
   * Asks for the body of this request (after `onRequest`, before `preProxy`); synchronous. The
   * body is read only when a plugin asks, and streams to the upstream untouched otherwise.
   */
  inspectBody?(ctx: RequestContext): BodyInspection | undefined;
  /** Right before forwarding; may edit `ctx.req.headers` or still refuse. */
  preProxy?(ctx: RequestContext): MaybePromise<Verdict | undefined | void>;
  /** Upstream headers arrived, before they reach the client; synchronous by design. */
  onSend?(ctx: RequestContext, response: UpstreamResponse): void;
  /** After the response finished or was aborted; never delays the client. */
  onResponse?(ctx: RequestContext, outcome: RequestOutcome): MaybePromise<void>;
  /** True when this client must skip the ban gate (whitelists). Synchronous. */
  exemptFromBans?(ctx: RequestContext): boolean;
  /**
   * What this plugin would do with `client` now and why (`GET /api/explain`): its rules that
   * match the address, and its counts. Reads only: counts nothing, changes nothing.
   */
  explain?(client: ExplainClient): MaybePromise<ExplainFinding[]>;
  /** True when `target` (canonical IP or CIDR) may never be banned by hand or import. */
  protectsFromBans?(target: string): boolean;
  /**
   * A note this plugin's instance in a request process sent with `tellNode`: received where
   * `duties.node` is true (the primary, or the one process), in the order sent per process.
   */
  onNote?(note: unknown): void;
  /**
   * What must be the same on every node of the cluster, as short fingerprints (`rules`: the
   * hash of a compiled rule set): sent with the node's heartbeat, and the cluster view flags
   * a node whose values differ from the other nodes'. Read where `duties.node` is true.
   */
  fingerprints?(): Record<string, string>;
  /** What the review page shows of this plugin (`/bans`), read where `duties.node` is true. */
  summary?(): MaybePromise<PluginSummary | undefined>;
  routes?: AdminRoute[];
}

/** Options of a scheduled job. */
export interface JobOptions {
  /** Stable job name for logs. */
  name: string;
  /** Run on one node of the cluster only (the lease holder); always true on a single node. */
  leader?: boolean;
  /** Also run once right away. */
  immediate?: boolean;
}

/**
 * A node's work, split between processes when it runs workers (`WORKERS`): the primary
 * holds the node (`node`) and each worker serves requests (`requests`); with `WORKERS=0`
 * one process does both. Every enabled plugin is provisioned in every process of the node;
 * what must happen once per node — jobs, a shared store, counting or writing on ban
 * changes — belongs where `node` is true, request hooks matter where `requests` is.
 */
export interface ProcessDuties {
  /** This process holds the node's store and admin listener, and runs its jobs. */
  readonly node: boolean;
  /** This process serves requests: its hooks run. */
  readonly requests: boolean;
}

/** What `provision` receives. Everything acquired through it is released on close. */
export interface PluginContext<S = Settings> {
  readonly id: string;
  /** Core and plugin settings, typed and frozen. */
  readonly settings: Readonly<CoreSettings> & Readonly<S>;
  readonly log: Logger;
  readonly store: ClusterStore;
  readonly metrics: Registry;
  readonly nodeName: string;
  /** What this process does for the node (see {@link ProcessDuties}). */
  readonly duties: ProcessDuties;
  /**
   * A random secret for `label` (base64url, 256 bits), the same in every process of this
   * node for its lifetime — across worker replacements and reloads — and different on
   * every start: for a setting left at `random`.
   */
  nodeSecret(label: string): string;
  /** Registers a release; releases run in reverse order on close, even after a failed provision. */
  onClose(release: () => MaybePromise<void>): void;
  /**
   * Makes a backend the node's shared state (the redis plugin does this): `create` gets the
   * node's local state to sync. At most one plugin may call it; the store's health and ban
   * changes go through the backend from then on. Only where `duties.node` is true.
   */
  shareStore(create: (local: LocalState) => SharedBackend): void;
  /**
   * Runs `job` every `intervalMs` without overlapping runs; stopped on close. Jobs run once
   * per node: in a process without the `node` duty this does nothing.
   */
  every(intervalMs: number, job: () => MaybePromise<void>, options: JobOptions): void;
  /**
   * Sends `note` (JSON: no functions, maps or undefined) to this plugin's instance in the
   * node's process, whose `onNote` receives it: from a worker in a batch a moment later
   * (notes past a few thousand a second are dropped and counted), in a one-process node at
   * once. What workers see that the node answers for — recent detections for `explain`.
   */
  tellNode(note: unknown): void;
}

/** A built-in plugin: its manifest, optional settings rules, and its provision function. */
export interface PluginDefinition<S = Settings> {
  readonly manifest: PluginManifest;
  /**
   * Fingerprints of the files the plugin reads, by the setting that names them (its stat:
   * size, modification time): a reload re-applies a setting whose files changed even when
   * its value did not (a rule file edited in place).
   */
  readonly fileFingerprints?: (settings: Readonly<CoreSettings> & Readonly<S>) => Record<string, string>;
  /** Cross-field rules on the effective settings (run for every plugin, enabled or not); async when they need a module loaded only then. */
  readonly checkSettings?: (settings: Readonly<CoreSettings> & Readonly<S>, valid: (name: string) => boolean) => MaybePromise<SettingError[]>;
  /** Fills this plugin's settings from other variables (e.g. a URL) where none is set. */
  readonly deriveSettings?: SettingsDeriver;
  provision(ctx: PluginContext<S>): MaybePromise<PluginHooks>;
}
