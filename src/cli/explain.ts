import type { Command } from 'commander';
import type { Explanation } from '../admin/explain.js';
import { exitCodes } from '../errors.js';
import { printable, refused, run, table } from './admin-command.js';

/** What `palisade explain` prints: the verdict, then the bans and the rules behind it. */
export function formatExplanation(answer: Explanation): string {
  const status = answer.verdict.status !== null ? ` ${answer.verdict.status}` : '';
  const would = answer.verdict.wouldBe
    ? ` (block mode: ${answer.verdict.wouldBe.action.toUpperCase()}${answer.verdict.wouldBe.status !== null ? ` ${answer.verdict.wouldBe.status}` : ''})`
    : '';
  const lines = [printable(`${answer.ip} on ${answer.node}: ${answer.verdict.action.toUpperCase()}${status}${would} — ${answer.verdict.because}`)];
  if (answer.infrastructure.loopback || answer.infrastructure.trustedProxy)
    lines.push(`infrastructure (${answer.infrastructure.loopback ? 'loopback' : 'REAL_IP_FROM'}): never limited, counted or banned automatically`);
  if (answer.bans.length > 0) {
    lines.push(
      '',
      table(
        ['BAN', 'REASON', 'ORIGIN', 'ACTOR', 'NODE', 'CREATED', 'EXPIRES', 'APPLIES'],
        answer.bans.map((b) => [b.ip, b.reason, b.origin, b.actor, b.node, b.created, b.expires ?? 'never', b.applies ? 'yes' : 'no']),
      ),
    );
    for (const ban of answer.bans.filter((b) => b.evidence !== ''))
      lines.push('', `Evidence of the ban of ${ban.ip}:`, ...ban.evidence.split('\n').map((line) => printable(`  ${line}`)));
  }
  if (answer.findings.length > 0) {
    lines.push(
      '',
      table(
        ['PLUGIN', 'RULE', 'EFFECT', 'APPLIES', 'DETAIL'],
        answer.findings.map((f) => [f.plugin, f.rule, f.effect, f.applies ? 'yes' : 'no', f.detail]),
      ),
    );
  }
  const events = answer.findings.flatMap((f) => (f.events ?? []).map((e) => [e.at, f.plugin, e.rule, e.request, e.message]));
  if (events.length > 0) lines.push('', 'Seen on this node, newest first:', table(['AT', 'PLUGIN', 'RULE', 'REQUEST', 'MESSAGE'], events));
  return `${lines.join('\n')}\n`;
}

/** Adds `explain <ip>` to the program: exit 0 whatever the verdict, 1 refused, 2 unreachable. */
export function registerExplainCommand(program: Command): void {
  program
    .command('explain <ip>')
    .description('why a client is refused (or not) right now: the bans covering it, the rules that match, its counts')
    .option('--json', 'print JSON')
    .action((ip: string, options: { json?: boolean }) =>
      run(async (client) => {
        const answer = await client.call('GET', `/api/explain?${new URLSearchParams({ ip })}`);
        if (answer.status !== 200) return refused(answer);
        const explanation = JSON.parse(answer.body) as Explanation;
        process.stdout.write(options.json ? `${JSON.stringify(explanation, null, 2)}\n` : formatExplanation(explanation));
        return exitCodes.ok;
      }),
    );
}
