/**
 * The one registry of Palisade's error codes.
 *
 * Every failure a user, an operator or a log reader can see carries one of these codes.
 * The README's "Error codes" table is generated from this object (`npm run schema`) and a
 * test fails when the two drift apart, so a code is documented the moment it exists.
 */
export const errorCodes = {
  PAL_SETTINGS_INVALID: {
    status: 0,
    summary: 'One or more settings are invalid; the process exits 78 before listening and lists every problem.',
  },
  PAL_SETTINGS_FILE_UNREADABLE: {
    status: 0,
    summary:
      'A file a setting names cannot be read: a `<NAME>_FILE` secret, or a path such as `REDIS_SSL_CA`. Listed with the other invalid settings (exit 78), this code on its line.',
  },
  PAL_PLUGIN_PROVISION_FAILED: {
    status: 0,
    summary: 'A plugin failed to provision at boot; already provisioned plugins are closed and the process exits 1.',
  },
  PAL_PLUGIN_DEPENDENCY_MISSING: {
    status: 0,
    summary: 'A plugin is enabled but a plugin it depends on (`dependsOn`) is not.',
  },
  PAL_PLUGIN_HOOK_FAILED: {
    status: 503,
    summary: 'A plugin hook threw. With `onFailure: open` the request continues (logged); with `closed` the client gets 503.',
  },
  PAL_LISTEN_FAILED: {
    status: 0,
    summary: 'A listener (proxy or admin) could not bind its address, for example because the port is taken.',
  },
  PAL_BAD_REQUEST: {
    status: 400,
    summary:
      "The request is malformed: two `Host` headers, a `Host` that is not `host[:port]`, an absolute-form target naming another host, or anything Node's parser rejects (never forwarded); on the admin API, a query that is not what the route takes (`GET /api/explain` without an IP address).",
  },
  PAL_HEADERS_TOO_LARGE: {
    status: 431,
    summary: "The request headers exceed Node's limit (16 KiB).",
  },
  PAL_REQUEST_TIMEOUT: {
    status: 408,
    summary:
      'The client was too slow: headers not in within `HEADER_TIMEOUT`, a body pausing longer than `CLIENT_BODY_TIMEOUT` or arriving slower than `CLIENT_BODY_MIN_RATE`. The connection is closed.',
  },
  PAL_CONNECT_REFUSED: {
    status: 405,
    summary: 'A `CONNECT` request was refused: a reverse proxy opens no tunnel.',
  },
  PAL_UPGRADE_REFUSED: {
    status: 400,
    summary: 'A protocol upgrade other than WebSocket (for example `h2c`) was refused.',
  },
  PAL_UPSTREAM_UNREACHABLE: {
    status: 502,
    summary: 'The upstream refused or reset the connection.',
  },
  PAL_UPSTREAM_TIMEOUT: {
    status: 504,
    summary: 'The upstream did not answer within `UPSTREAM_TIMEOUT`.',
  },
  PAL_BANNED: {
    status: 403,
    summary: 'The client IP is banned (status from `DENY_HTTP_STATUS`).',
  },
  PAL_BANS_NOT_LOADED: {
    status: 503,
    summary:
      "The node does not hold the cluster's bans yet (Redis unreachable since it started, no complete `STATE_DIR` snapshot): every client gets 503 with `Retry-After` until it does, as `/readyz` says `starting`. `SERVE_WITHOUT_BANS=yes` serves anyway, with the bans the node has.",
  },
  PAL_DENIED: {
    status: 403,
    summary: "A plugin denied the request; the log line carries the plugin's reason.",
  },
  PAL_ADMIN_UNAUTHORIZED: {
    status: 401,
    summary:
      'An admin route was called without a known identity: no `Authorization: Bearer` with a token of `ADMIN_TOKEN` or `ADMIN_TOKENS`, no page session, no user named by the auth proxy.',
  },
  PAL_ADMIN_FORBIDDEN: {
    status: 403,
    summary:
      'The caller is known but its role does not allow the request: viewers read, operators also ban, lift, import and reload (or an auth-proxy user `ADMIN_AUTH_PROXY_ROLES` grants no role). The refusal is in the audit trail (action `refused`) and the log.',
  },
  PAL_ADMIN_CSRF: {
    status: 403,
    summary:
      "A state-changing admin request signed in by cookie came from another origin or without the page's CSRF value (`X-CSRF-Token`), or an open (token-less) admin was reached under a name that is not its own (DNS rebinding); scripts use the bearer header.",
  },
  PAL_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    summary: 'An admin request body has a media type the route does not take (the ban API takes `application/json`, imports also `text/csv`).',
  },
  PAL_ADMIN_NOT_FOUND: {
    status: 404,
    summary: 'No admin route matches the method and path.',
  },
  PAL_REDIS_UNAVAILABLE: {
    status: 0,
    summary: 'Redis is unreachable or too slow: the store is degraded and the node runs on local state (logged once per change, `/readyz` says why).',
  },
  PAL_REDIS_TLS: {
    status: 0,
    summary: 'TLS to Redis failed (wrong CA, name mismatch, plaintext server); at boot the process exits 1. Never falls back to plaintext.',
  },
  PAL_REDIS_AUTH: {
    status: 0,
    summary: 'Redis refused `REDIS_USERNAME`/`REDIS_PASSWORD`; at boot the process exits 1.',
  },
  PAL_REDIS_PERMISSION: {
    status: 0,
    summary: 'The Redis ACL user lacks a command or the key prefix; the message lists what to grant. At boot the process exits 1.',
  },
  PAL_REDIS_SENTINEL: {
    status: 0,
    summary: 'No sentinel reachable, or no sentinel knows `REDIS_SENTINEL_MASTER`; the log says which.',
  },
  PAL_REDIS_CLUSTER: {
    status: 0,
    summary:
      'Cluster mode does not match the Redis reached: a Redis Cluster node without `REDIS_CLUSTER=yes`, or `REDIS_CLUSTER=yes` against a server without cluster support. At boot the process exits 1 with the setting to change.',
  },
  PAL_BANS_DIVERGED: {
    status: 0,
    summary:
      'This node\'s ban digest differed from Redis\'s at the same ban stream position on two checks in a row (a change it never received). The node resyncs its bans from Redis by itself; `palisade_ban_resyncs_total{cause="digest"}` counts it and `GET /api/cluster` shows the node as diverged until then.',
  },
  PAL_BAN_INVALID: {
    status: 400,
    summary: 'A ban request or import row is malformed: bad IP/CIDR, a network wider than `BAN_MIN_PREFIX_*`, bad duration, missing reason or unknown field.',
  },
  PAL_BAN_PROTECTED: {
    status: 422,
    summary: 'The address may not be banned: loopback, a trusted proxy (`REAL_IP_FROM`) or whitelisted.',
  },
  PAL_BAN_NOT_FOUND: {
    status: 404,
    summary: 'No active ban on that IP or CIDR.',
  },
  PAL_BODY_TOO_LARGE: {
    status: 413,
    summary:
      'A request body is larger than allowed: `MAX_CLIENT_SIZE` on the proxy port (declared, or a chunked body growing past it: the upstream request is aborted), 1 MiB on the admin listener.',
  },
  PAL_INTERNAL: {
    status: 500,
    summary: 'An unexpected failure inside Palisade; the log line with the request id has the detail.',
  },
  PAL_STATE_UNUSABLE: {
    status: 0,
    summary:
      'The ban snapshot in `STATE_DIR` cannot be read (ignored: the node is ready once it loaded the shared bans) or written (retried; the log says why once).',
  },
  PAL_SHUTDOWN_TIMEOUT: {
    status: 0,
    summary: 'In-flight requests did not finish within `SHUTDOWN_TIMEOUT` after SIGTERM/SIGINT; they were cut.',
  },
  PAL_WORKER_EXITED: {
    status: 0,
    summary:
      'A worker process ended without being asked to (a crash, `kill -9`, out of memory). The primary starts another one in its slot, at once the first time and with a growing delay (up to 30 s) while replacements keep dying young; `palisade_worker_restarts_total` counts them.',
  },
  PAL_WORKER_START_FAILED: {
    status: 0,
    summary:
      'A worker could not start (its own code, such as `PAL_LISTEN_FAILED`, is in the message). At boot the node stops with it; on a reload the old workers keep serving.',
  },
  PAL_RELOAD_REJECTED: {
    status: 0,
    summary:
      'A reload (`SIGHUP`, `palisade reload`) was not applied: the settings re-read are invalid (every error listed with its variable), a file the node started with (`.env`, a `*_FILE`) is gone, empty or unreadable, or a new worker could not start. The node keeps serving with its previous settings.',
  },
  PAL_RELOAD_NEEDS_RESTART: {
    status: 0,
    summary:
      "A reload changed settings that only a restart applies (the primary's own: `NODE_NAME`, `REDIS_*`, `ADMIN_LISTEN`, …); they are named, the rest of the reload is applied.",
  },
} as const satisfies Record<string, { status: number; summary: string }>;

/** A code from the registry. */
export type ErrorCode = keyof typeof errorCodes;

/**
 * An error that carries a registry code. `message` is safe to show to an operator: callers
 * never put secrets or stack traces into it.
 */
export class PalisadeError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PalisadeError';
    this.code = code;
  }
}

/**
 * Log fields that name a registry code: `log.warn(coded('PAL_REDIS_UNAVAILABLE', { reason }), '…')`.
 * Every log line with a code goes through here, so a code that is not in the registry does
 * not compile.
 */
export function coded<F extends object>(code: ErrorCode, fields?: F): { code: ErrorCode } & F {
  return { code, ...(fields as F) };
}

/** Exit codes of the `palisade` command (sysexits where one fits). */
export const exitCodes = {
  ok: 0,
  failure: 1,
  unreachable: 2,
  /** EX_USAGE: the command line itself is wrong (an unknown option, a missing argument). */
  usage: 64,
  /** EX_CONFIG: a setting is invalid. */
  config: 78,
} as const;
