import { errorCodes, type ErrorCode } from '../errors.js';
import { parseCidr } from '../net/ip.js';
import type { AdminResponse, AdminRoute } from '../plugin/types.js';
import { canonicalTarget } from '../net/ip.js';
import type { Ban, BanRecords } from '../store/types.js';

/** What the ban API reads and changes: the node's full ban records and its audit trail. */
export interface BanState {
  readonly bans: BanRecords;
  readonly audit: AuditFacet;
}
import { isRefusal, type BanPolicy } from '../store/ban-policy.js';
import { isoTime } from '../time.js';
import type { AuditFacet } from '../store/types.js';

/** How long a whole import may wait for Redis. */
const IMPORT_BUDGET_MS = 1_000;

/** Columns of exports and imports, in order. */
export const BAN_COLUMNS = ['ip', 'reason', 'origin', 'actor', 'node', 'created', 'expires', 'evidence'] as const;

/** A ban as the API shows it. */
export interface BanView {
  ip: string;
  reason: string;
  origin: string;
  actor: string;
  node: string;
  created: string;
  expires: string | null;
  /** Seconds left, null when permanent. */
  remaining: number | null;
  /** Requests refused on this node because of this ban. */
  hits: number;
  evidence: string;
}

/** A refusal of the ban API: its code from the registry, which also gives its status. */
export interface BanApiRefusal {
  status: number;
  code: ErrorCode;
  message: string;
}

/** The refusal of `code` with `message`, its status the registry's. */
function refusal(code: ErrorCode, message: string): BanApiRefusal {
  return { status: errorCodes[code].status, code, message };
}

const error = (code: ErrorCode, message: string): AdminResponse => ({ status: errorCodes[code].status, json: { error: message, code } });

/** What the API and the review page share: listing, adding and lifting bans, with the audit. */
export interface BanService {
  view(ban: Ban): BanView;
  list(query: URLSearchParams): { bans: BanView[]; next: string | null } | BanApiRefusal;
  /** `waitMs`: how long the change may wait for the other nodes (see `ShareOptions`). */
  add(input: unknown, origin: 'api' | 'import', actor: string, waitMs?: number): Promise<{ ban: Ban } | BanApiRefusal>;
  lift(target: string, actor: string): Promise<{ lifted: string } | BanApiRefusal>;
  /** Resolves once every process of the node that serves requests enforces the changes made so far. */
  enforced(): Promise<void>;
}

/**
 * Bans as security teams handle them, served from the node's own table (the full active set,
 * kept in step with Redis) — never a SCAN. Every change goes through the store, so it is
 * enforced here at once, shared with every node, and written to the audit trail. A change
 * answers once `enforced` says the node's workers enforce it (an import, once for all its
 * rows): the caller's next request meets it on whichever worker takes it.
 */
export function createBanService(store: BanState, policy: BanPolicy, enforced: () => Promise<void> = () => Promise.resolve()): BanService {
  const view = (ban: Ban): BanView => ({
    ip: ban.target,
    reason: ban.reason,
    origin: ban.origin,
    actor: ban.actor,
    node: ban.node,
    // A date no surface can show (a record from an older node) is shown as null, never a throw:
    // one record must not make a whole list fail.
    created: isoTime(ban.createdAt) ?? '',
    expires: ban.expiresAt === null ? null : isoTime(ban.expiresAt),
    remaining: ban.expiresAt === null ? null : Math.max(0, Math.round((ban.expiresAt - Date.now()) / 1000)),
    hits: store.bans.hits(ban.target),
    evidence: ban.evidence,
  });

  const add = async (input: unknown, origin: 'api' | 'import', actor: string, waitMs?: number): Promise<{ ban: Ban } | BanApiRefusal> => {
    const checked = policy.check(input, origin);
    if (isRefusal(checked)) return refusal(checked.code, checked.message);
    // The store enforces it here, shares it and writes the audit entry.
    const ban = await store.bans.add(
      { target: checked.target, reason: checked.reason, origin, actor, durationMs: checked.durationMs },
      waitMs === undefined ? {} : { waitMs },
    );
    if (origin !== 'import') await enforced();
    return { ban };
  };

  const lift = async (param: string, actor: string): Promise<{ lifted: string } | BanApiRefusal> => {
    const target = canonicalTarget(param);
    if (target === undefined) return refusal('PAL_BAN_INVALID', 'not an IP address or CIDR');
    if (!(await store.bans.remove(target, actor))) return refusal('PAL_BAN_NOT_FOUND', `no active ban on ${target}`);
    await enforced();
    return { lifted: target };
  };

  return { view, add, lift, enforced, list: (query) => list(store, query, view) };
}

/** The ban API routes on the admin listener. */
export function banRoutes(store: BanState, service: BanService): AdminRoute[] {
  const { view, add, lift } = service;
  return [
    {
      method: 'GET',
      path: '/api/bans',
      handle(request) {
        const result = service.list(request.query);
        return 'bans' in result ? { json: result } : error(result.code, result.message);
      },
    },
    {
      method: 'POST',
      path: '/api/bans',
      accepts: ['application/json'],
      async handle(request) {
        const body = parseJson(await request.body());
        if (body === undefined) return error('PAL_BAN_INVALID', 'body must be JSON: { "ip": "…", "duration": "1h", "reason": "…" }');
        const outcome = await add(body, 'api', request.actor);
        return 'ban' in outcome
          ? { status: 201, json: { ...view(outcome.ban), pending: store.bans.pending(outcome.ban.target) } }
          : error(outcome.code, outcome.message);
      },
    },
    {
      method: 'DELETE',
      path: '/api/bans/*',
      async handle(request) {
        const result = await lift(request.param ?? '', request.actor);
        if (!('lifted' in result)) return error(result.code, result.message);
        // 202 while the lift waits for Redis (enforced here already), 204 once every node has it.
        return store.bans.pending(result.lifted) ? { status: 202, json: { lifted: result.lifted, pending: true } } : { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/api/bans/export',
      async handle(request) {
        const format = request.query.get('format') ?? 'json';
        const bans = store.bans
          .list()
          .sort((a, b) => b.createdAt - a.createdAt)
          .map(view);
        if (format === 'json') return { json: bans, headers: { 'content-disposition': 'attachment; filename="bans.json"' } };
        if (format !== 'csv') return error('PAL_BAN_INVALID', 'format must be json or csv');
        const rows = bans.map((b) => BAN_COLUMNS.map((column) => spreadsheetSafe(String(b[column] ?? ''))));
        // The CSV modules are loaded by the first CSV export or import, not at every start.
        const { stringify: toCsv } = await import('csv-stringify/sync');
        return {
          text: toCsv([[...BAN_COLUMNS], ...rows]),
          headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="bans.csv"' },
        };
      },
    },
    {
      method: 'POST',
      path: '/api/bans/import',
      accepts: ['application/json', 'text/csv'],
      async handle(request) {
        const rows = await parseImport(await request.body(), request.headers['content-type'] ?? '');
        if (typeof rows === 'string') return error('PAL_BAN_INVALID', rows);
        const rejected: Array<{ row: number; ip: unknown; error: string; code: ErrorCode }> = [];
        let accepted = 0;
        // One budget for the whole import: past it, rows are enforced here and journalled without waiting.
        const deadline = Date.now() + IMPORT_BUDGET_MS;
        for (const [index, row] of rows.entries()) {
          // Exported columns that an import does not take are dropped; the rest is validated whole.
          const { origin: _o, actor: _a, node: _n, created: _c, remaining: _r, hits: _h, evidence: _e, ...input } = row as Record<string, unknown>;
          const outcome = await add(input, 'import', request.actor, deadline - Date.now());
          if ('ban' in outcome) accepted++;
          else rejected.push({ row: index + 1, ip: (row as Record<string, unknown>).ip, error: outcome.message, code: outcome.code });
        }
        await service.enforced();
        return { json: { accepted, rejected } };
      },
    },
    {
      method: 'GET',
      path: '/api/audit',
      async handle(request) {
        const limit = Math.min(Math.max(Number(request.query.get('limit') ?? 100) || 100, 1), 1000);
        return { json: { entries: (await store.audit.list(limit)).map((e) => ({ ...e, at: new Date(e.at).toISOString() })) } };
      },
    },
  ];
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Rows of an import: a JSON array of objects, or CSV with a header row (the export's columns). */
async function parseImport(body: Buffer, contentType: string): Promise<Array<Record<string, unknown>> | string> {
  const text = body.toString('utf8');
  if (contentType.includes('csv') || (!contentType.includes('json') && !text.trimStart().startsWith('['))) {
    const { parse: parseCsv } = await import('csv-parse/sync');
    try {
      const rows = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Array<Record<string, string>>;
      // Empty cells mean "not given" (a permanent ban exported has no expiry); a cell the
      // export neutralised comes back as it was.
      return rows.map((row) =>
        Object.fromEntries(
          Object.entries(row)
            .filter(([, v]) => v !== '')
            .map(([k, v]) => [k, spreadsheetRestored(v)]),
        ),
      );
    } catch (cause) {
      return `the CSV cannot be read: ${(cause as Error).message}`;
    }
  }
  const parsed = parseJson(body);
  if (!Array.isArray(parsed)) return 'the body must be a JSON array of bans or CSV with a header row';
  return parsed.map((row) => (typeof row === 'object' && row !== null ? (row as Record<string, unknown>) : { ip: row }));
}

/** Cells a spreadsheet would run as a formula (or a DDE command): `=`, `+`, `-`, `@`, tab, CR. */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A CSV cell a spreadsheet shows as text: one that starts like a formula gets a leading `'`
 * (OWASP's advice for CSV injection; reasons and evidence come from attackers). A cell that
 * starts with `'` itself gets one too, so an import can take exactly one off every cell.
 */
export function spreadsheetSafe(cell: string): string {
  return FORMULA_START.test(cell) || cell.startsWith("'") ? `'${cell}` : cell;
}

/** The cell {@link spreadsheetSafe} wrote, as it was (imports of an export). */
function spreadsheetRestored(cell: string): string {
  return cell.startsWith("'") ? cell.slice(1) : cell;
}

const SORTS = ['created', 'expires', 'ip', 'reason', 'origin', 'actor', 'node'] as const;
type Sort = (typeof SORTS)[number];

type Refusal = BanApiRefusal;
const refuse = (message: string): Refusal => ({ status: 400, code: 'PAL_BAN_INVALID', message });

/** Filters, a sort, and cursor pagination over the node's active bans. */
function list(store: BanState, q: URLSearchParams, view: (ban: Ban) => BanView): { bans: BanView[]; next: string | null } | Refusal {
  const sort = (q.get('sort') ?? 'created') as Sort;
  if (!SORTS.includes(sort)) return refuse(`sort must be one of ${SORTS.join(', ')}`);
  const limit = Number(q.get('limit') ?? 50);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return refuse('limit must be 1 to 1000');
  let bans = store.bans.list();
  const ipFilter = q.get('ip');
  if (ipFilter) {
    const cidr = parseCidr(ipFilter);
    if (!cidr) return refuse('ip must be an IP address or CIDR');
    bans = bans.filter((ban) => overlaps(ban.target, cidr.text));
  }
  for (const field of ['reason', 'origin', 'actor', 'node'] as const) {
    const wanted = q.get(field);
    if (wanted) bans = bans.filter((ban) => ban[field] === wanted);
  }
  const before = q.get('expiring_before');
  if (before) {
    const at = Date.parse(before);
    if (!Number.isFinite(at)) return refuse('expiring_before must be an ISO date');
    bans = bans.filter((ban) => ban.expiresAt !== null && ban.expiresAt < at);
  }
  const key = (ban: Ban): [number | string, string] =>
    sort === 'created'
      ? [-ban.createdAt, ban.target]
      : sort === 'expires'
        ? [ban.expiresAt ?? Number.MAX_SAFE_INTEGER, ban.target]
        : sort === 'ip'
          ? [ban.target, ban.target]
          : [ban[sort], ban.target];
  const compare = (a: [number | string, string], b: [number | string, string]): number =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
  bans.sort((a, b) => compare(key(a), key(b)));
  const cursor = q.get('cursor');
  if (cursor) {
    const after = decodeCursor(cursor);
    if (after === undefined) return refuse('cursor is not one this API gave (pass the `next` of the previous page as it is)');
    bans = bans.filter((ban) => compare(key(ban), after) > 0);
  }
  const page = bans.slice(0, limit);
  const last = page[page.length - 1];
  const next = bans.length > limit && last ? Buffer.from(JSON.stringify(key(last))).toString('base64url') : null;
  return { bans: page.map(view), next };
}

/** The sort key a cursor holds (`[value, target]`), or undefined when it is not one this API wrote. */
function decodeCursor(cursor: string): [number | string, string] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [first, target] = value as unknown[];
  return (typeof first === 'number' || typeof first === 'string') && typeof target === 'string' ? [first, target] : undefined;
}

/** True when two canonical targets (IPs or CIDRs) share an address. */
function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y || x.family !== y.family) return false;
  const [xNet, xBits] = x.range;
  const [yNet, yBits] = y.range;
  return (xNet as typeof yNet).match(yNet, yBits) || (yNet as typeof xNet).match(xNet, xBits);
}
