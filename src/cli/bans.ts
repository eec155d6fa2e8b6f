import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { BanView } from '../admin/bans-api.js';
import { exitCodes } from '../errors.js';
import { refused, run, table } from './admin-command.js';

/** `3h 12m`, `permanent`. */
function remaining(seconds: number | null): string {
  if (seconds === null) return 'permanent';
  if (seconds >= 86_400) return `${Math.floor(seconds / 86_400)}d ${Math.floor((seconds % 86_400) / 3600)}h`;
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
}

/**
 * What the last line of a ban's evidence says after the request (`waf 942100 sqli`), or the
 * request itself: the list's one-cell hint; `--json` and `palisade explain` show it whole.
 */
function lastNotes(evidence: string): string {
  const last = evidence.trimEnd().split('\n').pop() ?? '';
  return /^\S+ \S+ \S+ \d{3} (.+)$/.exec(last)?.[1] ?? last.replace(/^\S+ /, '');
}

/** Adds `bans …` and `audit` to the program. */
export function registerBanCommands(program: Command): void {
  const bans = program.command('bans').description("review, add and lift the shared bans (through a node's admin API)");

  bans
    .command('list')
    .description('list active bans')
    .option('--json', 'print JSON')
    .option('--ip <ip-or-cidr>', 'only bans covering this IP or network')
    .option('--reason <reason>', 'only bans with this reason')
    .option('--origin <origin>', 'only bans from this origin (a plugin, api, cli, import)')
    .option('--all', 'follow every page')
    .action((options: { json?: boolean; ip?: string; reason?: string; origin?: string; all?: boolean }) =>
      run(async (client) => {
        const found: BanView[] = [];
        let cursor: string | null = null;
        do {
          const query = new URLSearchParams({ limit: '500' });
          for (const key of ['ip', 'reason', 'origin'] as const) if (options[key]) query.set(key, options[key]);
          if (cursor) query.set('cursor', cursor);
          const answer = await client.call('GET', `/api/bans?${query}`);
          if (answer.status !== 200) return refused(answer);
          const page = JSON.parse(answer.body) as { bans: BanView[]; next: string | null };
          found.push(...page.bans);
          cursor = options.all ? page.next : null;
        } while (cursor);
        if (options.json) process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
        else {
          const rows = found.map((b) => [b.ip, b.reason, b.origin, b.actor, b.node, remaining(b.remaining), String(b.hits), lastNotes(b.evidence)]);
          process.stdout.write(`${table(['IP', 'REASON', 'ORIGIN', 'ACTOR', 'NODE', 'REMAINING', 'HITS', 'LAST EVIDENCE'], rows)}\n${found.length} ban(s)\n`);
        }
        return exitCodes.ok;
      }),
    );

  bans
    .command('add <target>')
    .description('ban an IP or a network on every node')
    .requiredOption('--duration <duration>', 'how long: 30m, 1h, 7d, or 0 for permanent')
    .requiredOption('--reason <reason>', 'why (shown to the team and in the audit trail)')
    .action((target: string, options: { duration: string; reason: string }) =>
      run(async (client) => {
        const answer = await client.call('POST', '/api/bans', {
          text: JSON.stringify({ ip: target, duration: options.duration, reason: options.reason }),
          contentType: 'application/json',
        });
        if (answer.status !== 201) return refused(answer);
        const ban = JSON.parse(answer.body) as BanView;
        process.stdout.write(`banned ${ban.ip} (${remaining(ban.remaining)})\n`);
        return exitCodes.ok;
      }),
    );

  bans
    .command('remove <target>')
    .description('lift the ban on an IP or a network on every node (and clear its bad-behaviour count)')
    .action((target: string) =>
      run(async (client) => {
        const answer = await client.call('DELETE', `/api/bans/${encodeURIComponent(target)}`);
        if (answer.status !== 204) return refused(answer);
        process.stdout.write(`lifted ${target}\n`);
        return exitCodes.ok;
      }),
    );

  bans
    .command('export')
    .description('print every active ban as CSV or JSON')
    .option('--format <format>', 'csv or json', 'csv')
    .action((options: { format: string }) =>
      run(async (client) => {
        const answer = await client.call('GET', `/api/bans/export?format=${encodeURIComponent(options.format)}`);
        if (answer.status !== 200) return refused(answer);
        process.stdout.write(answer.body.endsWith('\n') ? answer.body : `${answer.body}\n`);
        return exitCodes.ok;
      }),
    );

  bans
    .command('import <file>')
    .description('import bans from a CSV (with header) or JSON file; prints what was accepted and rejected')
    .action((file: string) =>
      run(async (client) => {
        const text = readFileSync(file, 'utf8');
        const contentType = file.endsWith('.csv') ? 'text/csv' : 'application/json';
        const answer = await client.call('POST', '/api/bans/import', { text, contentType });
        if (answer.status !== 200) return refused(answer);
        const report = JSON.parse(answer.body) as { accepted: number; rejected: Array<{ row: number; ip: unknown; error: string }> };
        process.stdout.write(`${report.accepted} accepted, ${report.rejected.length} rejected\n`);
        for (const r of report.rejected) process.stdout.write(`  row ${r.row} (${String(r.ip)}): ${r.error}\n`);
        return report.rejected.length > 0 ? exitCodes.failure : exitCodes.ok;
      }),
    );

  program
    .command('audit')
    .description('show who banned or lifted what, when and why')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'entries to show', '50')
    .action((options: { json?: boolean; limit: string }) =>
      run(async (client) => {
        const answer = await client.call('GET', `/api/audit?limit=${encodeURIComponent(options.limit)}`);
        if (answer.status !== 200) return refused(answer);
        const { entries } = JSON.parse(answer.body) as {
          entries: Array<{ at: string; actor: string; node: string; action: string; target?: string; reason?: string; detail?: string }>;
        };
        if (options.json) process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
        else
          process.stdout.write(
            `${table(
              ['WHEN', 'ACTOR', 'NODE', 'ACTION', 'TARGET', 'REASON', 'DETAIL'],
              entries.map((e) => [e.at, e.actor, e.node, e.action, e.target ?? '', e.reason ?? '', e.detail ?? '']),
            )}\n`,
          );
        return exitCodes.ok;
      }),
    );
}
