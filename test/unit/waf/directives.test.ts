import { describe, expect, it } from 'vitest';
import { loadRules } from '../../../src/waf/index.js';
import { ids, load, req, run } from './waf-test-kit.js';

describe('loading', () => {
  it('collects every error with file:line instead of stopping at the first', () => {
    const r = loadRules({
      files: [{ file: 'bad.conf', text: 'SecFoo bar\nSecRule ARGS "@rx a" "id:1,t:nope"\nSecRule ARGS "@bogus" "id:2"\nSecRule ARGS "@rx a"\n' }],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.line, e.message])).toEqual([
      [1, 'SecFoo: unknown directive'],
      [4, 'SecRule: rule has no valid id'],
      [2, 'rule 1: unknown transformation t:nope'],
      [3, 'rule 2: unknown operator @bogus'],
    ]);
  });

  it('lists ignored directives once each, with where they were read', () => {
    const r = loadRules({ files: [{ file: 'a.conf', text: 'SecAuditEngine On\nSecResponseBodyAccess On\nSecDebugLog /x\n' }] });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.report.ignoredDirectives).toEqual([
      { directive: 'SecAuditEngine', file: 'a.conf', line: 1 },
      { directive: 'SecResponseBodyAccess', file: 'a.conf', line: 2 },
      { directive: 'SecDebugLog', file: 'a.conf', line: 3 },
    ]);
  });

  it('refuses unsupported operators without failing the load, and reports them', () => {
    const r = loadRules({
      files: [{ file: 'r.conf', text: 'SecRule REMOTE_ADDR "@rbl x.example" "id:5,phase:1,pass"\nSecRule ARGS "@rx a" "id:6,phase:2,pass"' }],
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.report.rules).toBe(1);
    expect(r.report.refused).toMatchObject([{ file: 'r.conf', line: 1 }]);
    expect(r.report.refused[0]?.message).toMatch(/@rbl is not supported/);
  });

  it('counts translated regexes and hashes stably', () => {
    const text = 'SecRule ARGS "@rx (?i)abc" "id:1,phase:2,pass"\nSecRule ARGS "@rx abc" "id:2,phase:2,pass"';
    const a = loadRules({ files: [{ file: 'x', text }] });
    const b = loadRules({ files: [{ file: 'x', text }] });
    const c = loadRules({ files: [{ file: 'x', text: text.replace('abc"', 'abd"') }] });
    if (!a.ok || !b.ok || !c.ok) throw new Error('load');
    expect(a.report.translatedRegexes).toBe(1);
    expect(a.ruleSet.hash).toBe(b.ruleSet.hash);
    expect(a.ruleSet.hash).not.toBe(c.ruleSet.hash);
  });

  it('reports duplicate ids and chained rules with ids', () => {
    const r = loadRules({
      files: [{ file: 'd', text: 'SecAction "id:1,pass"\nSecAction "id:1,pass"\nSecRule ARGS "a" "id:2,chain"\nSecRule ARGS "b" "id:3"' }],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.message)).toEqual(['SecAction: duplicate rule id 1', 'SecRule: a chained rule may not have id']);
  });

  it('Include with globs, relative to the including file', () => {
    const r = loadRules({
      files: [{ file: '/usr/share/modsecurity-crs/main.conf', text: 'Include rules/REQUEST-901-*.conf' }],
      preamble: 'SecAction "id:900990,phase:1,pass,nolog,setvar:tx.crs_setup_version=334"',
    });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.report.rules).toBeGreaterThan(20);
  });
});

describe('engine settings', () => {
  it('SecRuleEngine DetectionOnly runs rules but never interrupts', () => {
    const rs = load('SecRuleEngine DetectionOnly\nSecRule ARGS "@rx evil" "id:1,phase:1,deny,log"');
    const { tx, interruption } = run(rs, req('/?a=evil'));
    expect(interruption).toBeUndefined();
    expect(ids(tx)).toEqual([1]);
    expect(rs.engineMode).toBe('DetectionOnly');
  });
  it('SecRuleEngine Off runs nothing; the load option overrides the file', () => {
    const off = load('SecRuleEngine Off\nSecRule ARGS "@rx evil" "id:1,phase:1,deny,log"');
    expect(ids(run(off, req('/?a=evil')).tx)).toEqual([]);
    const forced = load('SecRuleEngine On\nSecRule ARGS "@rx evil" "id:1,phase:1,deny,log"', { engineMode: 'DetectionOnly' });
    expect(run(forced, req('/?a=evil')).interruption).toBeUndefined();
  });
  it('SecRequestBodyAccess decides whether the body is wanted', () => {
    const on = load('SecRequestBodyAccess On');
    const withBody = req('/', [['Content-Length', '3']], 'POST');
    expect(on.begin(withBody).wantsBody).toBe(true);
    expect(on.begin(req('/')).wantsBody).toBe(false);
    expect(load('SecRequestBodyAccess Off').begin(withBody).wantsBody).toBe(false);
  });
  it('SecRequestBodyLimit with a truncated body rejects with 413 (Reject action)', () => {
    const rs = load('SecRequestBodyAccess On\nSecRequestBodyLimit 5');
    const tx = rs.begin(req('/', [['Content-Length', '10']], 'POST'));
    tx.processHeaders();
    expect(tx.processBody(Buffer.from('12345'), true)).toEqual({ status: 413, ruleId: 0, action: 'deny' });
    expect(rs.requestBodyLimit).toBe(5);
  });
});

describe('exceptions', () => {
  const rules = [
    'SecRule ARGS "@rx evil" "id:10,phase:1,pass,log,tag:\'attack-x\',msg:\'first\'"',
    'SecRule ARGS "@rx evil" "id:11,phase:1,pass,log,tag:\'attack-y\',msg:\'second\'"',
    'SecRule ARGS "@rx evil" "id:12,phase:1,pass,log,tag:\'attack-y\',msg:\'third\'"',
  ].join('\n');
  it('SecRuleRemoveById with ids and ranges', () => {
    expect(ids(run(load(rules + '\nSecRuleRemoveById 10 11-12'), req('/?a=evil')).tx)).toEqual([]);
    expect(ids(run(load(rules + '\nSecRuleRemoveById 11'), req('/?a=evil')).tx)).toEqual([10, 12]);
  });
  it('SecRuleRemoveByTag and SecRuleRemoveByMsg', () => {
    expect(ids(run(load(rules + '\nSecRuleRemoveByTag attack-y'), req('/?a=evil')).tx)).toEqual([10]);
    expect(ids(run(load(rules + '\nSecRuleRemoveByMsg ^second$'), req('/?a=evil')).tx)).toEqual([10, 12]);
  });
  it('SecRuleUpdateTargetById adds exclusions and targets', () => {
    const rs = load(rules + '\nSecRuleUpdateTargetById 10 "!ARGS:a"\nSecRuleUpdateTargetById 11 "REQUEST_HEADERS:X-Y"');
    expect(ids(run(rs, req('/?a=evil')).tx)).toEqual([11, 12]);
    expect(ids(run(rs, req('/', [['X-Y', 'evil']])).tx)).toEqual([11]);
  });
  it('SecRuleUpdateTargetByTag', () => {
    const rs = load(rules + '\nSecRuleUpdateTargetByTag attack-y "!ARGS:a"');
    expect(ids(run(rs, req('/?a=evil')).tx)).toEqual([10]);
  });
  it('SecRuleUpdateActionById replaces msg and the disruptive action', () => {
    const rs = load(rules + '\nSecRuleUpdateActionById 10 "deny,status:418,msg:\'changed\'"');
    const { tx, interruption } = run(rs, req('/?a=evil'));
    expect(interruption).toEqual({ status: 418, ruleId: 10, action: 'deny' });
    expect(tx.matches[0]?.msg).toBe('changed');
  });
});
