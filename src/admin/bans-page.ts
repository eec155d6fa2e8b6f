import { createHash, timingSafeEqual } from 'node:crypto';
import { escapeHtml as h } from '../html.js';
import type { AdminRequest, AdminResponse, AdminRoute, PluginSummary } from '../plugin/types.js';
import type { AdminAuth } from './auth.js';
import type { BanService, BanView } from './bans-api.js';
import type { Explanation } from './explain.js';
import { chartSection, clusterSection, explainSection, pluginSection, timeCell, totalsSection } from './page-sections.js';
import type { AuditFacet, ClusterView } from '../store/types.js';

/** What the page shows besides the ban list. */
export interface BanPageSources {
  service: BanService;
  audit: AuditFacet;
  auth: AdminAuth;
  nodeName: string;
  /** How many active bans, by origin and by reason (the totals). */
  tally(): { total: number; byOrigin: Map<string, number>; byReason: Map<string, number> };
  cluster(): Promise<ClusterView>;
  explain(ip: string): Promise<Explanation | undefined>;
  /** The plugins' sections (the WAF's refusals of the last day). */
  summaries?(): Promise<PluginSummary[]>;
  now?: () => number;
}

/** Audit entries read for the per-hour chart (bans of the last 24 h among them); the newest 50 are listed. */
const CHART_ENTRIES = 5_000;
/** Columns the list sorts by, with their `sort` value. */
const SORTABLE: Record<string, string> = { IP: 'ip', Reason: 'reason', Origin: 'origin', Actor: 'actor', Node: 'node', Created: 'created', Expires: 'expires' };

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1d1d1f}
.cards{display:flex;gap:1rem;flex-wrap:wrap;margin:0 0 1rem}.card{border:1px solid #ddd;border-radius:6px;padding:.5rem 1rem;min-width:12rem}
.card h2{font-size:1rem;margin:.2rem 0}.big{font-size:2rem;margin:.2rem 0}.counts{list-style:none;padding:0;margin:0}.n{display:inline-block;min-width:3rem;font-weight:600}
.bar{fill:#c0392b}th a{color:inherit}.who{float:right}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f5f7}form.inline{display:inline}input,select,button{font:inherit;padding:.2rem .4rem}
.msg{padding:.5rem .8rem;background:#eef6ee;border:1px solid #9c9}.err{background:#fbeaea;border-color:#d99}
pre{white-space:pre-wrap;max-width:60rem;margin:.3rem 0}fieldset{border:1px solid #ddd;margin:0 0 1rem}`;

/** The page; `csrf` (the caller's CSRF value, for calls to the API from this page) goes in a meta tag. */
function layout(title: string, body: string, csrf = ''): string {
  const meta = csrf ? `<meta name="csrf-token" content="${h(csrf)}">` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">${meta}<title>${h(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

function remaining(seconds: number | null): string {
  if (seconds === null) return 'permanent';
  const d = Math.floor(seconds / 86_400);
  const hrs = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d}d ${hrs}h` : hrs > 0 ? `${hrs}h ${m}m` : `${m}m ${seconds % 60}s`;
}

function loginPage(error?: string): AdminResponse {
  return {
    status: error ? 401 : 200,
    html: layout(
      'Palisade bans — sign in',
      `<h1>Palisade bans</h1>${error ? `<p class="msg err">${h(error)}</p>` : ''}
<form method="post" action="/bans/login"><label>Your admin token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button></form>`,
    ),
  };
}

/** Reads an `application/x-www-form-urlencoded` body (the page's forms). */
async function form(request: AdminRequest): Promise<URLSearchParams> {
  return new URLSearchParams((await request.body()).toString('utf8'));
}

/** Compares two secrets in constant time. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The CSRF value the page's forms carry: the session's, or the open admin's; none for the bearer header. */
function csrfOf(request: AdminRequest): string {
  const identity = request.identity;
  return identity && identity.via !== 'bearer' ? identity.csrf : '';
}

const back = (message: string, error = false): AdminResponse => ({
  status: 303,
  headers: { location: `/bans?${new URLSearchParams(error ? { err: message } : { msg: message })}` },
});

/**
 * The ban review page: a server-rendered HTML page on the admin listener (no front-end build,
 * no script) for a security team: totals and bans per hour, the bans with filters, sortable
 * columns and paging, evidence on demand, "why is this client blocked?", lifting and adding
 * (operators only), the exports, the audit trail and every node of the cluster. Everything
 * shown is escaped (evidence and reasons come from attackers). Signed in by a named token
 * (a form that opens a session), the bearer header or the auth proxy; the actor is the
 * identity's name; every form carries a CSRF value.
 */
export function banPageRoutes(sources: BanPageSources): AdminRoute[] {
  const { service, audit, auth, nodeName } = sources;
  const now = sources.now ?? Date.now;
  const page = async (request: AdminRequest): Promise<AdminResponse> => {
    const identity = request.identity;
    if (identity === undefined) return loginPage();
    if (identity.role === null) {
      return {
        status: 403,
        html: layout(
          'Palisade bans',
          `<h1>Palisade bans</h1><p class="msg err">${h(identity.name)} has no role on this node: ask for one in ADMIN_AUTH_PROXY_ROLES.</p>`,
        ),
      };
    }
    const at = now();
    const operator = identity.role === 'operator';
    const q = request.query;
    const kept = ['ip', 'reason', 'origin', 'actor', 'node', 'cursor', 'sort'];
    const listing = service.list(new URLSearchParams([...q].filter(([key]) => kept.includes(key) && q.get(key) !== '')));
    const message = q.get('msg') ? `<p class="msg">${h(q.get('msg')!)}</p>` : q.get('err') ? `<p class="msg err">${h(q.get('err')!)}</p>` : '';
    const csrf = `<input type="hidden" name="csrf" value="${h(csrfOf(request))}">`;
    const rows =
      'bans' in listing
        ? listing.bans
            .map(
              (b: BanView) =>
                `<tr><td>${h(b.ip)}</td><td>${h(b.reason)}</td><td>${h(b.origin)}</td><td>${h(b.actor)}</td><td>${h(b.node)}</td>` +
                `<td>${timeCell(Date.parse(b.created), at)}</td><td>${timeCell(b.expires === null ? null : Date.parse(b.expires), at)}</td><td>${h(remaining(b.remaining))}</td><td>${b.hits}</td>` +
                `<td>${b.evidence ? `<details><summary>evidence</summary><pre>${h(b.evidence)}</pre></details>` : ''}</td>` +
                `<td>${operator ? `<form class="inline" method="post" action="/bans/lift">${csrf}<input type="hidden" name="ip" value="${h(b.ip)}"><button type="submit" aria-label="Lift ${h(b.ip)}">Lift</button></form>` : ''}</td></tr>`,
            )
            .join('\n')
        : '';
    const nextQuery = new URLSearchParams([...q].filter(([key]) => kept.includes(key)));
    if ('bans' in listing && listing.next) nextQuery.set('cursor', listing.next);
    const next = 'bans' in listing && listing.next ? `<p><a href="/bans?${h(nextQuery.toString())}">Next page →</a></p>` : '';
    const listError = 'bans' in listing ? '' : `<p class="msg err">${h(listing.message)}</p>`;
    const value = (key: string): string => h(q.get(key) ?? '');
    const header = (title: string): string => {
      const sort = SORTABLE[title];
      if (!sort) return `<th>${title}</th>`;
      const link = new URLSearchParams([...q].filter(([key]) => kept.includes(key) && key !== 'cursor' && key !== 'sort'));
      link.set('sort', sort);
      const current = (q.get('sort') ?? 'created') === sort;
      return `<th${current ? ' aria-sort="ascending"' : ''}><a href="/bans?${h(link.toString())}">${title}${current ? ' ▾' : ''}</a></th>`;
    };
    const asked = q.get('explain')?.trim();
    const answer = asked ? await sources.explain(asked) : undefined;
    const explained =
      asked === undefined || asked === '' ? '' : answer ? explainSection(answer, at) : `<p class="msg err">${h(asked)} is not an IP address.</p>`;
    const [chartEntries, view, summaries] = await Promise.all([audit.list(CHART_ENTRIES), sources.cluster(), sources.summaries?.() ?? []]);
    const auditRows = chartEntries
      .slice(0, 50)
      .map(
        (e) =>
          `<tr><td>${timeCell(e.at, at)}</td><td>${h(e.actor)}</td><td>${h(e.node)}</td><td>${h(e.action)}</td><td>${h(e.target ?? '')}</td><td>${h(e.reason ?? '')}</td><td>${h(e.detail ?? '')}</td></tr>`,
      )
      .join('\n');
    const signOut =
      identity.via === 'session' ? `<form class="inline" method="post" action="/bans/logout">${csrf}<button type="submit">Sign out</button></form>` : '';
    const addForm = operator
      ? `<form method="post" action="/bans/add"><fieldset><legend>Add a ban</legend>${csrf}
<label>IP or CIDR <input name="ip" required></label> <label>Duration <input name="duration" value="1h" size="6" required></label>
<label>Reason <input name="reason" required></label>
<button type="submit">Ban</button></fieldset></form>`
      : '<p>Viewers read; an operator bans and lifts.</p>';
    return {
      html: layout(
        'Palisade bans',
        `<div class="who">Signed in as <strong id="identity">${h(identity.name)}</strong> (<span id="role">${h(identity.role)}</span>) ${signOut}</div>
<h1>Palisade bans <small>(node ${h(nodeName)})</small></h1>${message}${listError}
${totalsSection(sources.tally())}
${chartSection(chartEntries, at, CHART_ENTRIES)}
<form method="get" action="/bans"><fieldset><legend>Why is this client blocked?</legend>
<label>IP address <input name="explain" value="${value('explain')}" required></label> <button type="submit">Explain</button></fieldset></form>
${explained}
<form method="get" action="/bans"><fieldset><legend>Filter</legend>
<label>IP or CIDR <input name="ip" value="${value('ip')}"></label> <label>Reason <input name="reason" value="${value('reason')}"></label>
<label>Origin <input name="origin" value="${value('origin')}"></label> <label>Actor <input name="actor" value="${value('actor')}"></label> <label>Node <input name="node" value="${value('node')}"></label>
<button type="submit">Filter</button> <a href="/bans">Clear</a></fieldset></form>
<table id="bans"><thead><tr>${['IP', 'Reason', 'Origin', 'Actor', 'Node', 'Created', 'Expires', 'Remaining', 'Hits', 'Evidence', ''].map(header).join('')}</tr></thead>
<tbody>${rows || '<tr><td colspan="11">No bans.</td></tr>'}</tbody></table>${next}
${addForm}
<p>Export: <a href="/api/bans/export?format=csv">CSV</a> · <a href="/api/bans/export?format=json">JSON</a></p>
<h2>Audit</h2><table id="audit"><thead><tr><th>When</th><th>Actor</th><th>Node</th><th>Action</th><th>Target</th><th>Reason</th><th>Detail</th></tr></thead>
<tbody>${auditRows || '<tr><td colspan="7">Nothing yet.</td></tr>'}</tbody></table>
${summaries.map(pluginSection).join('\n')}
${clusterSection(view, at)}`,
        csrfOf(request),
      ),
    };
  };

  /** Runs a form action after the sign-in and CSRF checks (the listener checked the role). */
  const action =
    (run: (fields: URLSearchParams, request: AdminRequest) => Promise<AdminResponse>) =>
    async (request: AdminRequest): Promise<AdminResponse> => {
      if (!request.authorized) return loginPage('Sign in first.');
      const fields = await form(request);
      const expected = csrfOf(request);
      if (expected === '' || !sameSecret(fields.get('csrf') ?? '', expected)) return back('The form expired; try again.', true);
      return run(fields, request);
    };

  return [
    { method: 'GET', path: '/bans', public: true, handle: page },
    {
      method: 'POST',
      path: '/bans/login',
      public: true,
      form: true,
      async handle(request) {
        if (!auth.enabled) return back('No admin credential is set: this page is open on loopback.');
        const credential = auth.checkToken((await form(request)).get('token') ?? '');
        return credential ? { status: 303, headers: { location: '/bans', 'set-cookie': await auth.signIn(credential) } } : loginPage('Wrong token.');
      },
    },
    {
      method: 'POST',
      path: '/bans/logout',
      form: true,
      role: 'viewer',
      handle: action(async (_fields, request) => ({ status: 303, headers: { location: '/bans', 'set-cookie': await auth.signOut(request.identity!) } })),
    },
    {
      method: 'POST',
      path: '/bans/add',
      form: true,
      handle: action(async (fields, request) => {
        const outcome = await service.add(
          { ip: fields.get('ip') ?? '', duration: fields.get('duration') ?? '', reason: fields.get('reason') ?? '' },
          'api',
          request.actor,
        );
        return 'ban' in outcome ? back(`Banned ${outcome.ban.target}.`) : back(outcome.message, true);
      }),
    },
    {
      method: 'POST',
      path: '/bans/lift',
      form: true,
      handle: action(async (fields, request) => {
        const outcome = await service.lift(fields.get('ip') ?? '', request.actor);
        return 'lifted' in outcome ? back(`Lifted ${outcome.lifted}.`) : back(outcome.message, true);
      }),
    },
  ];
}
