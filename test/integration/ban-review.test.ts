import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProcessNode } from '../helpers/in-process.js';
import { runCli, startPalisade, type PalisadeProcess } from '../helpers/palisade.js';
import { clusterNodeEnv } from '../helpers/cluster.js';
import { startRedis, stopAllRedis } from '../helpers/redis.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'ban-review-admin-token-0123';
const BOB = 'ban-review-bob-token-012345';
let upstream: TestUpstream;
let a: PalisadeProcess;
let b: PalisadeProcess;

let redisPort = 0;

beforeAll(async () => {
  upstream = await startUpstream();
  const redis = await startRedis();
  redisPort = redis.port;
  const env = (name: string): Record<string, string> =>
    clusterNodeEnv(name, upstream.url, redis.port, {
      ADMIN_TOKENS: `alice:operator:${TOKEN},bob:operator:${BOB}`,
      REAL_IP_FROM: '127.0.0.1 10.10.0.0/16',
      WHITELIST_IP: '198.51.100.250',
      USE_LIMIT_REQ: 'no',
    });
  a = await startPalisade(env('review-a'));
  b = await startPalisade(env('review-b'));
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await stopAllRedis();
  await upstream?.close();
});

async function api(node: PalisadeProcess, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${node.adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, headers: response.headers };
}

async function asClient(node: PalisadeProcess, ip: string): Promise<number> {
  const response = await fetch(`${node.proxyUrl}/`, { headers: { 'x-forwarded-for': ip } });
  await response.arrayBuffer();
  return response.status;
}

describe('what the ban API cannot show', () => {
  it('refuses a ban past 100 years, and a record from Redis no surface can show never makes a list fail', async () => {
    const long = await api(a, 'POST', '/api/bans', { ip: '203.0.113.120', duration: '100000000d', reason: 'forever and more' });
    expect(long.status).toBe(400);
    expect(long.json).toMatchObject({ code: 'PAL_BAN_INVALID', error: expect.stringContaining('longer than 100 years') });
    expect(await asClient(a, '203.0.113.120')).toBe(200);
    const far = await api(a, 'POST', '/api/bans', { ip: '203.0.113.121', expires: '+100000-01-01T00:00:00Z', reason: 'far' });
    expect(far.status).toBe(400);
    // A node of an older version (or a hand) writes a record no surface can show, straight into the stream.
    const redis = new (await import('ioredis')).Redis({ host: '127.0.0.1', port: redisPort });
    const ban = {
      target: '203.0.113.122',
      reason: 'from the future',
      origin: 'api',
      actor: 'x',
      node: 'old-node',
      createdAt: Date.now(),
      expiresAt: 8.64e15,
      evidence: '',
      version: Date.now(),
    };
    await redis.xadd('palisade:bans:stream', '*', 'c', JSON.stringify({ op: 'ban', ban }));
    await redis.xadd(
      'palisade:bans:stream',
      '*',
      'c',
      JSON.stringify({ op: 'ban', ban: { ...ban, target: '203.0.113.123', expiresAt: Date.now() + 3_600_000 } }),
    );
    redis.disconnect();
    await waitFor(async () => (await asClient(b, '203.0.113.123')) === 403, 'the showable ban on B');
    // The other one was refused and counted; every view still answers.
    expect(await asClient(b, '203.0.113.122')).toBe(200);
    for (const path of ['/api/bans', '/api/bans/export', '/api/bans/export?format=csv', '/api/explain?ip=203.0.113.122', '/bans'])
      expect((await api(b, 'GET', path)).status, path).toBe(200);
    expect((await api(b, 'GET', '/metrics')).text).toMatch(/^palisade_bans_refused_total\{source="redis",reason="invalid"[^}]*\} [1-9]/m);
    expect(b.logs.find((l) => l.code === 'PAL_BAN_INVALID' && l.source === 'redis')).toMatchObject({ target: '203.0.113.122' });
  });

  it('shows control sequences in reasons escaped in the CLI tables and explain, and cuts long cells', async () => {
    const reason = `\x1b[2J\x1b[31mowned\x1b[0m \u009b6n \u202eevil ${'x'.repeat(150)}`;
    expect((await api(a, 'POST', '/api/bans', { ip: '203.0.113.130', duration: '1h', reason })).status).toBe(201);
    const cli = { PALISADE_ADMIN_URL: a.adminUrl, PALISADE_ADMIN_TOKEN: TOKEN };
    const explained = await runCli(['explain', '203.0.113.130'], cli);
    const listed = await runCli(['bans', 'list', '--ip', '203.0.113.130'], cli);
    for (const out of [explained, listed]) {
      expect(out.code).toBe(0);
      expect(out.stdout).not.toMatch(/[\x1b\x9b\u202e]/);
      expect(out.stdout).toContain('\\x1b[2J\\x1b[31mowned');
    }
    expect(explained.stdout).toContain('\\x9b6n \\u{202e}evil');
    // The reason column is as wide as 48 characters at most, not as the longest reason.
    const row = listed.stdout.split('\n').find((line) => line.startsWith('203.0.113.130'))!;
    expect(row.length).toBeLessThan(48 + 100);
    expect(row).toContain('…');
  });

  it('answers 400 to a cursor it did not give', async () => {
    for (const cursor of [
      'null',
      '[]',
      '{}',
      Buffer.from('null').toString('base64url'),
      Buffer.from('[]').toString('base64url'),
      Buffer.from('{}').toString('base64url'),
      Buffer.from('[1,2]').toString('base64url'),
    ]) {
      const answer = await api(a, 'GET', `/api/bans?cursor=${encodeURIComponent(cursor)}`);
      expect(answer.status, cursor).toBe(400);
      expect(answer.json).toMatchObject({ code: 'PAL_BAN_INVALID' });
    }
  });
});

describe('ban review API', () => {
  it('adds a ban on A that B lists and enforces; lifting it on B frees it on A; both are audited', async () => {
    const created = await api(a, 'POST', '/api/bans', { ip: '203.0.113.9', duration: '1h', reason: 'credential stuffing' });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      ip: '203.0.113.9',
      reason: 'credential stuffing',
      origin: 'api',
      actor: 'alice',
      node: 'review-a',
      remaining: 3600,
      hits: 0,
    });
    const listed = await waitFor(async () => (await api(b, 'GET', '/api/bans?ip=203.0.113.9')).json?.bans?.[0], 'the ban listed on B');
    expect(listed).toMatchObject({ ip: '203.0.113.9', origin: 'api', actor: 'alice' });
    expect(await asClient(b, '203.0.113.9')).toBe(403);
    // Workers report their hits to the primary every second.
    await waitFor(async () => (await api(b, 'GET', '/api/bans?ip=203.0.113.9')).json.bans[0].hits === 1, 'the hit counted on B');

    expect((await api(b, 'DELETE', '/api/bans/203.0.113.9')).status).toBe(204);
    await waitFor(async () => (await asClient(a, '203.0.113.9')) === 200, 'the ban lifted on A');
    expect((await api(b, 'DELETE', '/api/bans/203.0.113.9')).status).toBe(404);
    const audit = await waitFor(async () => {
      const entries = (await api(a, 'GET', '/api/audit')).json.entries as Array<{ action: string; target: string; actor: string; node: string }>;
      return entries.some((e) => e.action === 'unban') ? entries : undefined;
    }, 'the audit trail');
    expect(audit.filter((e) => e.target === '203.0.113.9').map((e) => [e.action, e.actor, e.node])).toEqual([
      ['unban', 'alice', 'review-b'],
      ['ban', 'alice', 'review-a'],
    ]);
  });

  it('answers bad input with 400/404/413/422 and a JSON { error, code }, never 500', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ ip: 'not-an-ip', duration: '1h', reason: 'x' }, 400, 'PAL_BAN_INVALID'],
      [{ ip: '10.0.0.0/8', duration: '1h', reason: 'x' }, 400, 'PAL_BAN_INVALID'],
      [{ ip: '203.0.113.10', duration: 'soon', reason: 'x' }, 400, 'PAL_BAN_INVALID'],
      [{ ip: '203.0.113.10', duration: '1h', reason: 'x', extra: 1 }, 400, 'PAL_BAN_INVALID'],
      [{ ip: '203.0.113.10', duration: '1h' }, 400, 'PAL_BAN_INVALID'],
      ['{not json', 400, 'PAL_BAN_INVALID'],
      [{ ip: '127.0.0.1', duration: '1h', reason: 'x' }, 422, 'PAL_BAN_PROTECTED'],
      [{ ip: '10.10.3.4', duration: '1h', reason: 'x' }, 422, 'PAL_BAN_PROTECTED'],
      [{ ip: '198.51.100.250', duration: '1h', reason: 'x' }, 422, 'PAL_BAN_PROTECTED'],
      [{ ip: '198.51.100.0/24', duration: '1h', reason: 'x' }, 422, 'PAL_BAN_PROTECTED'],
    ];
    for (const [body, status, code] of cases) {
      const answer = await api(a, 'POST', '/api/bans', body);
      expect({ body, status: answer.status, code: answer.json?.code }).toEqual({ body, status, code });
      expect(typeof answer.json.error).toBe('string');
    }
    const huge = await api(a, 'POST', '/api/bans', 'x'.repeat(2 * 1024 * 1024));
    expect([huge.status, huge.json?.code]).toEqual([413, 'PAL_BODY_TOO_LARGE']);
    expect((await api(a, 'DELETE', '/api/bans/not-an-ip')).status).toBe(400);
    expect((await api(a, 'GET', '/api/bans?sort=nonsense')).status).toBe(400);
    expect((await api(a, 'GET', '/api/bans?cursor=@@@')).status).toBe(400);
    const anonymous = await fetch(`${a.adminUrl}/api/bans`);
    expect(anonymous.status).toBe(401);
  });

  it('filters, sorts and pages with a cursor; exports CSV and JSON; imports row by row', async () => {
    for (let i = 1; i <= 5; i++)
      expect((await api(a, 'POST', '/api/bans', { ip: `192.0.2.${i}`, duration: `${i}h`, reason: i % 2 ? 'odd' : 'even' })).status).toBe(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await api(a, 'GET', `/api/bans?ip=192.0.2.0/29&sort=expires&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.json.bans.map((ban: { ip: string }) => ban.ip));
      cursor = page.json.next;
    } while (cursor);
    expect(seen).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5']);
    expect((await api(a, 'GET', '/api/bans?reason=even')).json.bans.map((x: { ip: string }) => x.ip).sort()).toEqual(['192.0.2.2', '192.0.2.4']);

    const csv = await api(a, 'GET', '/api/bans/export?format=csv');
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.text.split('\n')[0]).toBe('ip,reason,origin,actor,node,created,expires,evidence');
    expect(csv.text).toMatch(/^192\.0\.2\.3,odd,api,alice,review-a,/m);
    const json = await api(a, 'GET', '/api/bans/export?format=json');
    expect(json.json.length).toBeGreaterThanOrEqual(5);

    const imported = await api(
      a,
      'POST',
      '/api/bans/import',
      'ip,reason,duration\n198.18.0.1,imported,2h\nbad-ip,imported,2h\n198.18.0.0/8,too wide,1h\n198.18.0.2,imported,0\n',
      {
        'content-type': 'text/csv',
      },
    );
    expect(imported.status).toBe(200);
    expect(imported.json.accepted).toBe(2);
    expect(imported.json.rejected.map((r: { row: number; code: string }) => [r.row, r.code])).toEqual([
      [2, 'PAL_BAN_INVALID'],
      [3, 'PAL_BAN_INVALID'],
    ]);
    await waitFor(async () => (await api(b, 'GET', '/api/bans?origin=import')).json.bans.length === 2, 'imports on B');
    // An export imports back as it is (same columns).
    const roundTrip = await api(b, 'POST', '/api/bans/import', csv.text, { 'content-type': 'text/csv' });
    expect(roundTrip.json.rejected).toEqual([]);
  });

  it('neutralises spreadsheet formulas in the CSV export, and imports them back as they were', async () => {
    const formulas = ['=HYPERLINK("http://evil.test","click")', "+1+cmd|' /C calc'!A0", '-2+3', '@SUM(1)', "'=already quoted", 'plain text'];
    for (const [i, reason] of formulas.entries())
      expect((await api(a, 'POST', '/api/bans', { ip: `192.0.2.${100 + i}`, duration: '1h', reason })).status).toBe(201);
    const csv = await api(a, 'GET', '/api/bans/export?format=csv');
    const cells = new Map(
      csv.text
        .split('\n')
        .filter((line) => line.startsWith('192.0.2.1'))
        .map((line) => [line.split(',')[0]!, line]),
    );
    for (const [i, reason] of formulas.entries()) {
      const line = cells.get(`192.0.2.${100 + i}`)!;
      const reasonCell = line.slice(line.indexOf(',') + 1);
      // Quoted or not, the reason cell starts with a quote mark that makes it text.
      if (i < formulas.length - 1) expect(reasonCell).toMatch(/^"?'['=+\-@\t]/);
      else expect(reasonCell.startsWith('plain text')).toBe(true);
    }
    for (const [i] of formulas.entries()) await api(a, 'DELETE', `/api/bans/192.0.2.${100 + i}`);
    const back = await api(
      a,
      'POST',
      '/api/bans/import',
      csv.text
        .split('\n')
        .filter((line, n) => n === 0 || line.startsWith('192.0.2.1'))
        .join('\n'),
      { 'content-type': 'text/csv' },
    );
    expect(back.json.rejected).toEqual([]);
    for (const [i, reason] of formulas.entries()) {
      const listed = await api(a, 'GET', `/api/bans?ip=192.0.2.${100 + i}`);
      expect(listed.json.bans[0]?.reason).toBe(reason);
    }
  });

  it('keeps attacker-supplied text as data: a <script> reason comes back verbatim in JSON', async () => {
    const created = await api(a, 'POST', '/api/bans', { ip: '192.0.2.77', duration: '1h', reason: '<script>alert(1)</script>' });
    expect(created.status).toBe(201);
    expect(created.headers.get('content-type')).toContain('application/json');
    expect(created.json.reason).toBe('<script>alert(1)</script>');
  });
});

describe('palisade bans / audit (CLI)', () => {
  const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { PALISADE_ADMIN_URL: a.adminUrl, PALISADE_ADMIN_TOKEN: BOB, ...extra });

  it('adds, lists, removes, exports, imports and shows the audit trail, with documented exit codes', async () => {
    const added = await cli(['bans', 'add', '198.51.100.44', '--duration', '2h', '--reason', 'scanner']);
    expect(added.code).toBe(0);
    // Remaining time is rounded to the second: 2 h can read 2h 0m or 1h 59m.
    expect(added.stdout).toMatch(/^banned 198\.51\.100\.44 \((2h 0m|1h 59m)\)\n$/);
    const listed = await cli(['bans', 'list', '--ip', '198.51.100.44']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      /^IP +REASON +ORIGIN +ACTOR +NODE +REMAINING +HITS +LAST EVIDENCE\n198\.51\.100\.44 +scanner +api +bob +review-a +(1h 59m|2h 0m) +0\n1 ban\(s\)\n$/,
    );
    const asJson = JSON.parse((await cli(['bans', 'list', '--json', '--ip', '198.51.100.44'])).stdout);
    expect(asJson).toHaveLength(1);
    const bad = await cli(['bans', 'add', '127.0.0.1', '--duration', '1h', '--reason', 'oops']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^palisade: 127\.0\.0\.1 is a loopback address.* \[PAL_BAN_PROTECTED\]\n$/);
    expect((await cli(['bans', 'remove', '198.51.100.44'])).code).toBe(0);
    expect((await cli(['bans', 'remove', '198.51.100.44'])).code).toBe(1);

    const exported = await cli(['bans', 'export', '--format', 'csv']);
    expect(exported.stdout.startsWith('ip,reason,origin,actor,node,created,expires,evidence\n')).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'palisade-import-'));
    writeFileSync(
      join(dir, 'bans.json'),
      JSON.stringify([
        { ip: '198.51.100.45', duration: '1h', reason: 'json import' },
        { ip: '::1', duration: '1h', reason: 'nope' },
      ]),
    );
    const imported = await cli(['bans', 'import', join(dir, 'bans.json')]);
    expect(imported.code).toBe(1);
    expect(imported.stdout).toContain('1 accepted, 1 rejected');
    expect(imported.stdout).toContain('row 2 (::1): ::1 is a loopback address');

    const audit = await cli(['audit', '--json', '--limit', '20']);
    const entries = JSON.parse(audit.stdout) as Array<{ actor: string; action: string; target?: string }>;
    expect(entries.some((e) => e.actor === 'bob' && e.action === 'unban' && e.target === '198.51.100.44')).toBe(true);
    expect(entries.some((e) => e.actor === 'bob' && e.action === 'import')).toBe(true);

    const unreachable = await runCli(['bans', 'list'], { PALISADE_ADMIN_URL: 'http://127.0.0.1:9', ADMIN_TOKEN: TOKEN });
    expect(unreachable.code).toBe(2);
    const wrongToken = await cli(['bans', 'list'], { PALISADE_ADMIN_TOKEN: 'wrong-token-wrong-token' });
    expect([wrongToken.code, wrongToken.stderr]).toEqual([
      1,
      "palisade: missing or wrong bearer token [PAL_ADMIN_UNAUTHORIZED]: set PALISADE_ADMIN_TOKEN (or PALISADE_ADMIN_TOKEN_FILE) to your token of the node's ADMIN_TOKENS, or ADMIN_TOKEN\n",
    ]);
  });
});

describe('a large ban list', () => {
  it('pages through 100,000 bans: 50 at a time, each page after the last, none twice', async () => {
    const node = await startInProcessNode({ NODE_NAME: 'big', LOG_LEVEL: 'silent' });
    try {
      for (let i = 0; i < 100_000; i++) {
        // 198.18.0.0/15: no trusted proxy there (the default REAL_IP_FROM holds the private networks).
        await node.store.bans.add({ target: `198.${18 + ((i >> 16) & 1)}.${(i >> 8) & 255}.${i & 255}`, reason: 'bulk', origin: 'api', durationMs: 3_600_000 });
      }
      // How fast the first page comes is a figure for a quiet machine: bench:bans prints it.
      const page = async (cursor?: string): Promise<{ bans: Array<{ ip: string }>; next: string }> =>
        (await (await fetch(`${node.adminUrl}/api/bans?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).json()) as {
          bans: Array<{ ip: string }>;
          next: string;
        };
      const first = await page();
      const second = await page(first.next);
      expect(first.bans).toHaveLength(50);
      expect(second.bans).toHaveLength(50);
      expect(first.next).toBeTruthy();
      expect(new Set([...first.bans, ...second.bans].map((b) => b.ip)).size).toBe(100);
    } finally {
      await node.stop();
    }
  });
});
