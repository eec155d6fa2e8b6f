import { isoTime } from '../time.js';
import { escapeHtml as h } from '../html.js';
import { relative } from '../relative-time.js';
import type { Explanation } from './explain.js';
import type { PluginSummary } from '../plugin/types.js';
import type { AuditEntry, ClusterView } from '../store/types.js';

/** A time shown relative to now, the exact time on hover (and for machines). */
export function timeCell(ms: number | null, now: number, never = 'never'): string {
  if (ms === null) return never;
  const iso = isoTime(ms);
  if (iso === null) return 'unknown';
  return `<time datetime="${iso}" title="${iso}">${relative(ms, now)}</time>`;
}

/** How a ban came to be, for the totals: a plugin's own decision, a person, an import, a downloaded list. */
export function originGroup(origin: string): 'automatic' | 'API' | 'import' | 'lists' {
  if (origin === 'api' || origin === 'cli') return 'API';
  if (origin === 'import') return 'import';
  if (origin === 'blacklist') return 'lists';
  return 'automatic';
}

/** `counts` largest first (ties by name), at most `top`. */
function largest(counts: ReadonlyMap<string, number>, top = Infinity): Array<[string, number]> {
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, top);
}

/** Totals over every active ban: how many, by origin group, by reason (the ten most common). */
export function totalsSection(tally: { total: number; byOrigin: ReadonlyMap<string, number>; byReason: ReadonlyMap<string, number> }): string {
  const groups = new Map<string, number>();
  for (const [origin, count] of tally.byOrigin) groups.set(originGroup(origin), (groups.get(originGroup(origin)) ?? 0) + count);
  const origin = (['automatic', 'API', 'import', 'lists'] as const)
    .map((group) => `<li><span class="n" data-origin="${group}">${groups.get(group) ?? 0}</span> ${group}</li>`)
    .join('');
  const reasons = largest(tally.byReason, 10)
    .map(([reason, count]) => `<li><span class="n">${count}</span> <a href="/bans?${h(new URLSearchParams({ reason }).toString())}">${h(reason)}</a></li>`)
    .join('');
  return `<section id="totals" class="cards">
<div class="card"><h2>Active bans</h2><p class="big" id="total-bans">${tally.total}</p></div>
<div class="card"><h2>By origin</h2><ul class="counts">${origin}</ul></div>
<div class="card"><h2>By reason</h2><ul class="counts">${reasons || '<li>none</li>'}</ul></div>
</section>`;
}

/**
 * Bans created per hour over the last 24 hours, from the audit trail (lifted and expired
 * ones included), as an inline SVG bar chart: no script, no external asset. `entries` are
 * the newest first, at most `limit` of them: a chart they do not cover says it is partial.
 */
export function chartSection(entries: readonly AuditEntry[], now: number, limit: number): string {
  const hourMs = 3_600_000;
  const end = Math.floor(now / hourMs) * hourMs + hourMs;
  const counts = new Array<number>(24).fill(0);
  for (const entry of entries) {
    // An imported ban is audited as `import`: created all the same.
    if (entry.action !== 'ban' && entry.action !== 'import') continue;
    const slot = 23 - Math.floor((end - 1 - entry.at) / hourMs);
    if (slot >= 0 && slot < 24) counts[slot]!++;
  }
  const most = Math.max(1, ...counts);
  const width = 24 * 20;
  const height = 100;
  const bars = counts
    .map((count, i) => {
      const barHeight = Math.round((count / most) * (height - 16));
      const from = new Date(end - (24 - i) * hourMs).toISOString().slice(11, 16);
      return `<rect class="bar" data-count="${count}" x="${i * 20 + 2}" y="${height - barHeight}" width="16" height="${barHeight}"><title>${from} UTC: ${count} ban(s)</title></rect>`;
    })
    .join('');
  const total = counts.reduce((sum, count) => sum + count, 0);
  // The trail read holds `limit` entries at most: when they do not reach back 24 h, say so.
  const oldest = entries.at(-1)?.at;
  const partial =
    entries.length >= limit && oldest !== undefined && oldest > end - 24 * hourMs
      ? ` — partial: the audit entries read reach back to ${new Date(oldest).toISOString().slice(11, 16)} UTC only`
      : '';
  return `<section id="per-hour"><h2>Bans created per hour, last 24 h <small>(${total}; busiest hour ${most === 1 && total === 0 ? 0 : most}${h(partial)})</small></h2>
<svg role="img" aria-label="Bans created per hour over the last 24 hours" width="${width}" height="${height + 14}" viewBox="0 0 ${width} ${height + 14}">
<line x1="0" y1="${height}" x2="${width}" y2="${height}" stroke="#999"/>${bars}
<text x="0" y="${height + 12}" font-size="10">−24 h</text><text x="${width - 24}" y="${height + 12}" font-size="10">now</text></svg></section>`;
}

/** The cluster section: one row per node seen, flagged when its bans differ from Redis's or its fingerprints (WAF rules) from the other nodes'. */
export function clusterSection(view: ClusterView, now: number): string {
  const rows = view.nodes
    .map((n) => {
      const agreement = n.diverged
        ? `<strong>diverged</strong>${n.bans.divergedSince ? ` since ${timeCell(n.bans.divergedSince, now)}` : ''}`
        : n.bans.agrees
          ? 'agrees'
          : '—';
      return (
        `<tr${n.diverged || n.differs.length > 0 ? ' class="err"' : ''}><td>${h(n.node)}</td><td>${h(n.version)}</td><td>${h(n.store.mode)}</td><td>${n.live ? '' : 'gone, '}${h(relative(now - n.ageMs, now))}</td>` +
        `<td>${h(String(n.bans.count))}</td><td><code>${h(n.bans.digest)}</code></td><td><code>${h(n.bans.stream ?? '—')}</code></td><td>${agreement}</td><td>${h(String(n.bans.repairs))}</td>` +
        `<td>${n.workers ? h(`${n.workers.ready}/${n.workers.count}`) : '—'}</td><td>${n.differs.length > 0 ? `<strong>differs: ${h(n.differs.join(', '))}</strong>` : 'same'}</td></tr>`
      );
    })
    .join('\n');
  const redis = view.redis
    ? `<p>Redis: digest <code>${h(view.redis.digest)}</code>${view.redis.complete ? '' : ' (incomplete)'}, stream at <code>${h(view.redis.stream)}</code></p>`
    : '';
  return `<h2>Cluster</h2><p>${h(String(view.summary.live))} live node(s) of ${h(String(view.summary.seen))} seen in the last hour; ${h(String(view.summary.diverged))} diverged; ${h(String(view.summary.differing))} with settings that differ (WAF rules…).</p>${redis}
<table id="cluster"><thead><tr><th>Node</th><th>Version</th><th>Store</th><th>Heartbeat</th><th>Bans</th><th>Digest</th><th>Stream position</th><th>Bans vs Redis</th><th>Repairs</th><th>Workers</th><th>Rules and files</th></tr></thead>
<tbody>${rows}</tbody></table>`;
}

/** The answer to "why is this client blocked?" (the page's explain form). */
export function explainSection(answer: Explanation, now: number): string {
  const verdict = `${answer.verdict.action}${answer.verdict.status !== null ? ` (${answer.verdict.status})` : ''}`;
  const infrastructure = answer.infrastructure.loopback ? 'loopback' : answer.infrastructure.trustedProxy ? 'a trusted proxy (REAL_IP_FROM)' : '';
  const bans = answer.bans
    .map(
      (b) =>
        `<tr><td>${h(b.ip)}</td><td>${h(b.reason)}</td><td>${h(b.origin)}</td><td>${h(b.actor)}</td><td>${h(b.node)}</td><td>${timeCell(Date.parse(b.created), now)}</td><td>${timeCell(b.expires === null ? null : Date.parse(b.expires), now)}</td><td>${b.applies ? 'yes' : 'no (whitelisted)'}</td></tr>`,
    )
    .join('');
  const findings = answer.findings
    .map(
      (f) =>
        `<tr><td>${h(f.plugin)}</td><td>${h(f.rule)}</td><td>${h(f.effect)}</td><td>${h(f.detail)}</td><td>${f.applies ? 'yes' : 'no (whitelisted)'}</td></tr>`,
    )
    .join('');
  const events = answer.findings
    .flatMap((f) =>
      (f.events ?? []).map(
        (e) =>
          `<tr><td>${timeCell(Date.parse(e.at), now)}</td><td>${h(f.plugin)}</td><td>${h(e.rule)}</td><td>${h(e.request)}</td><td>${h(e.message)}</td></tr>`,
      ),
    )
    .join('');
  return `<section id="explain-answer"><h2>Why: ${h(answer.ip)}</h2>
<p class="msg${answer.verdict.action === 'pass' ? '' : ' err'}"><strong id="explain-verdict">${h(verdict)}</strong>: ${h(answer.verdict.because)}</p>
${infrastructure ? `<p>${h(answer.ip)} is ${h(infrastructure)}: never limited, counted or banned automatically.</p>` : ''}
<h3>Bans covering it</h3><table><thead><tr><th>Target</th><th>Reason</th><th>Origin</th><th>Actor</th><th>Node</th><th>Created</th><th>Expires</th><th>Applies</th></tr></thead><tbody>${bans || '<tr><td colspan="8">None.</td></tr>'}</tbody></table>
<h3>Rules</h3><table><thead><tr><th>Plugin</th><th>Rule</th><th>Effect</th><th>Detail</th><th>Applies</th></tr></thead><tbody>${findings || '<tr><td colspan="5">No rule bears on this address.</td></tr>'}</tbody></table>${
    events
      ? `
<h3>Seen on this node</h3><table id="explain-events"><thead><tr><th>When</th><th>Plugin</th><th>Rule</th><th>Request</th><th>Message</th></tr></thead><tbody>${events}</tbody></table>`
      : ''
  }</section>`;
}

/** A plugin's section (see `PluginHooks.summary`): its tables, every cell escaped. */
export function pluginSection(summary: PluginSummary): string {
  const tables = summary.tables
    .map((table) => {
      const head = table.columns.map((column) => `<th>${h(column)}</th>`).join('');
      const rows = table.rows.map((row) => `<tr>${row.map((cell) => `<td>${h(cell)}</td>`).join('')}</tr>`).join('');
      return `<table id="${h(table.id)}"><caption>${h(table.caption)}</caption><thead><tr>${head}</tr></thead><tbody>${rows || `<tr><td colspan="${table.columns.length}">None.</td></tr>`}</tbody></table>`;
    })
    .join('');
  return `<section class="plugin"><h2>${h(summary.title)}</h2>${summary.note ? `<p>${h(summary.note)}</p>` : ''}${tables}</section>`;
}
