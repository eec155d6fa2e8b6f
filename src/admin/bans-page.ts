import { createHash, timingSafeEqual } from 'node:crypto';
import { escapeHtml as h } from '../html.js';
import type { AdminRequest, AdminResponse, AdminRoute } from '../plugin/types.js';
import type { AuditFacet } from '../store/audit.js';
import type { ClusterView } from '../store/cluster-view.js';
import type { AdminAuth } from './auth.js';
import type { BanService, BanView } from './bans-api.js';

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1d1d1f}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f5f7}form.inline{display:inline}input,select,button{font:inherit;padding:.2rem .4rem}
.msg{padding:.5rem .8rem;background:#eef6ee;border:1px solid #9c9}.err{background:#fbeaea;border-color:#d99}
pre{white-space:pre-wrap;max-width:60rem;margin:.3rem 0}fieldset{border:1px solid #ddd;margin:0 0 1rem}`;

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${h(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
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
<form method="post" action="/bans/login"><label>Admin token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
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

/** `4s ago`, `12m ago`. */
function ago(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 120 ? `${seconds}s ago` : `${Math.round(seconds / 60)}m ago`;
}

/** The cluster section: one row per node seen, flagged when its bans differ from Redis's. */
function clusterSection(view: ClusterView): string {
  const rows = view.nodes
    .map((n) => {
      const agreement = n.diverged ? `<strong>diverged</strong>${n.bans.divergedSince ? ` since ${h(new Date(n.bans.divergedSince).toISOString())}` : ''}` : n.bans.agrees ? 'agrees' : '—';
      return (
        `<tr${n.diverged ? ' class="err"' : ''}><td>${h(n.node)}</td><td>${h(n.version)}</td><td>${h(n.store.mode)}</td><td>${n.live ? '' : 'gone, '}${h(ago(n.ageMs))}</td>` +
        `<td>${n.bans.count}</td><td><code>${h(n.bans.digest)}</code></td><td><code>${h(n.bans.stream ?? '—')}</code></td><td>${agreement}</td><td>${n.bans.repairs}</td>` +
        `<td>${n.workers ? `${n.workers.ready}/${n.workers.count}` : '—'}</td></tr>`
      );
    })
    .join('\n');
  const redis = view.redis ? `<p>Redis: digest <code>${h(view.redis.digest)}</code>${view.redis.complete ? '' : ' (incomplete)'}, stream at <code>${h(view.redis.stream)}</code></p>` : '';
  return `<h2>Cluster</h2><p>${view.summary.live} live node(s) of ${view.summary.seen} seen in the last hour; ${view.summary.diverged} diverged.</p>${redis}
<table id="cluster"><thead><tr><th>Node</th><th>Version</th><th>Store</th><th>Heartbeat</th><th>Bans</th><th>Digest</th><th>Stream position</th><th>Bans vs Redis</th><th>Repairs</th><th>Workers</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

const back = (message: string, error = false): AdminResponse => ({
  status: 303,
  headers: { location: `/bans?${new URLSearchParams(error ? { err: message } : { msg: message })}` },
});

/**
 * The ban review page: a server-rendered HTML page on the admin listener (no front-end build,
 * no script) that lists the bans with filters and paging, shows evidence on demand, lifts
 * and adds bans, links the exports, shows the audit trail and every node of the cluster. Everything it shows is escaped
 * (evidence and reasons come from attackers). Signed in by the admin token (a form that sets
 * a SameSite=Strict cookie) or the bearer header; every form carries a CSRF value.
 */
export function banPageRoutes(service: BanService, audit: AuditFacet, auth: AdminAuth, nodeName: string, cluster: () => Promise<ClusterView>): AdminRoute[] {
  const page = async (request: AdminRequest): Promise<AdminResponse> => {
    if (!request.authorized) return loginPage();
    const q = request.query;
    const listing = service.list(new URLSearchParams([...q].filter(([key]) => ['ip', 'reason', 'origin', 'node', 'cursor', 'sort'].includes(key) && q.get(key) !== '')));
    const message = q.get('msg') ? `<p class="msg">${h(q.get('msg')!)}</p>` : q.get('err') ? `<p class="msg err">${h(q.get('err')!)}</p>` : '';
    const csrf = `<input type="hidden" name="csrf" value="${h(csrfOf(request))}">`;
    const rows =
      'bans' in listing
        ? listing.bans.map((b: BanView) =>
            `<tr><td>${h(b.ip)}</td><td>${h(b.reason)}</td><td>${h(b.origin)}</td><td>${h(b.actor)}</td><td>${h(b.node)}</td>` +
            `<td>${h(b.created)}</td><td>${b.expires ? h(b.expires) : 'never'}</td><td>${h(remaining(b.remaining))}</td><td>${b.hits}</td>` +
            `<td>${b.evidence ? `<details><summary>evidence</summary><pre>${h(b.evidence)}</pre></details>` : ''}</td>` +
            `<td><form class="inline" method="post" action="/bans/lift">${csrf}<input type="hidden" name="ip" value="${h(b.ip)}"><button type="submit" aria-label="Lift ${h(b.ip)}">Lift</button></form></td></tr>`,
          ).join('\n')
        : '';
    const next = 'bans' in listing && listing.next ? `<p><a href="/bans?${h(new URLSearchParams({ ...Object.fromEntries(q), cursor: listing.next }).toString())}">Next page →</a></p>` : '';
    const listError = 'bans' in listing ? '' : `<p class="msg err">${h(listing.message)}</p>`;
    const value = (key: string): string => h(q.get(key) ?? '');
    const [entries, view] = await Promise.all([audit.list(50), cluster()]);
    const auditRows = entries
      .map((e) => `<tr><td>${h(new Date(e.at).toISOString())}</td><td>${h(e.actor)}</td><td>${h(e.node)}</td><td>${h(e.action)}</td><td>${h(e.target ?? '')}</td><td>${h(e.reason ?? '')}</td><td>${h(e.detail ?? '')}</td></tr>`)
      .join('\n');
    return {
      html: layout(
        'Palisade bans',
        `<h1>Palisade bans <small>(node ${h(nodeName)})</small></h1>${message}${listError}
<form method="get" action="/bans"><fieldset><legend>Filter</legend>
<label>IP or CIDR <input name="ip" value="${value('ip')}"></label> <label>Reason <input name="reason" value="${value('reason')}"></label>
<label>Origin <input name="origin" value="${value('origin')}"></label> <label>Node <input name="node" value="${value('node')}"></label>
<button type="submit">Filter</button> <a href="/bans">Clear</a></fieldset></form>
<table id="bans"><thead><tr><th>IP</th><th>Reason</th><th>Origin</th><th>Actor</th><th>Node</th><th>Created</th><th>Expires</th><th>Remaining</th><th>Hits</th><th>Evidence</th><th></th></tr></thead>
<tbody>${rows || '<tr><td colspan="11">No bans.</td></tr>'}</tbody></table>${next}
<form method="post" action="/bans/add"><fieldset><legend>Add a ban</legend>${csrf}
<label>IP or CIDR <input name="ip" required></label> <label>Duration <input name="duration" value="1h" size="6" required></label>
<label>Reason <input name="reason" required></label> <label>Your name <input name="actor" value="web"></label>
<button type="submit">Ban</button></fieldset></form>
<p>Export: <a href="/api/bans/export?format=csv">CSV</a> · <a href="/api/bans/export?format=json">JSON</a></p>
<h2>Audit</h2><table id="audit"><thead><tr><th>When</th><th>Actor</th><th>Node</th><th>Action</th><th>Target</th><th>Reason</th><th>Detail</th></tr></thead>
<tbody>${auditRows || '<tr><td colspan="7">Nothing yet.</td></tr>'}</tbody></table>
${clusterSection(view)}
<form method="post" action="/bans/logout">${csrf}<button type="submit">Sign out</button></form>`,
      ),
    };
  };

  /** Runs a form action after the sign-in and CSRF checks. */
  const action = (run: (fields: URLSearchParams, request: AdminRequest) => Promise<AdminResponse>) => async (request: AdminRequest): Promise<AdminResponse> => {
    if (!request.authorized) return loginPage('Sign in first.');
    const fields = await form(request);
    const expected = csrfOf(request);
    if (expected === '' || !sameSecret(fields.get('csrf') ?? '', expected)) return back('The form expired; try again.', true);
    return run(fields, request);
  };
  const actorOf = (fields: URLSearchParams): string => {
    const name = (fields.get('actor') ?? '').trim();
    return /^[\x20-\x7e]{1,64}$/.test(name) ? `web:${name}` : 'web';
  };

  return [
    { method: 'GET', path: '/bans', public: true, handle: page },
    {
      method: 'POST',
      path: '/bans/login',
      public: true,
      form: true,
      async handle(request) {
        if (!auth.enabled) return back('No admin token is set: this page is open on loopback.');
        return auth.checkToken((await form(request)).get('token') ?? '')
          ? { status: 303, headers: { location: '/bans', 'set-cookie': await auth.signIn() } }
          : loginPage('Wrong token.');
      },
    },
    {
      method: 'POST',
      path: '/bans/logout',
      form: true,
      handle: action(async (_fields, request) => ({ status: 303, headers: { location: '/bans', 'set-cookie': await auth.signOut(request.identity!) } })),
    },
    {
      method: 'POST',
      path: '/bans/add',
      form: true,
      handle: action(async (fields) => {
        const outcome = await service.add({ ip: fields.get('ip') ?? '', duration: fields.get('duration') ?? '', reason: fields.get('reason') ?? '' }, 'api', actorOf(fields));
        return 'ban' in outcome ? back(`Banned ${outcome.ban.target}.`) : back(outcome.message, true);
      }),
    },
    {
      method: 'POST',
      path: '/bans/lift',
      form: true,
      handle: action(async (fields) => {
        const outcome = await service.lift(fields.get('ip') ?? '', actorOf(fields));
        return 'lifted' in outcome ? back(`Lifted ${outcome.lifted}.`) : back(outcome.message, true);
      }),
    },
  ];
}
