import { describe, expect, it } from 'vitest';
import { loadRules } from '../../../src/waf/index.js';
import { ids, load, post, req, run } from './waf-test-kit.js';

describe('chains', () => {
  const rs = load(
    [
      'SecRule REQUEST_METHOD "@streq POST" "id:1,phase:1,deny,status:403,log,msg:\'chain %{MATCHED_VAR}\',chain"',
      '  SecRule REQUEST_HEADERS:X-A "@rx ^(\\d+)$" "capture,chain"',
      '    SecRule TX:1 "@gt 10" "setvar:tx.hit=1"',
    ].join('\n'),
  );
  it("fires only when every link matches, under the starter id, with the last link's MATCHED_VAR", () => {
    const yes = run(rs, req('/', [['X-A', '42']], 'POST'));
    expect(yes.interruption).toEqual({ status: 403, ruleId: 1, action: 'deny' });
    expect(yes.tx.matches[0]?.msg).toBe('chain 42');
    expect(yes.tx.tx('hit')).toBe('1');
    expect(run(rs, req('/', [['X-A', '7']], 'POST')).interruption).toBeUndefined();
    expect(run(rs, req('/', [['X-A', '42']], 'GET')).interruption).toBeUndefined();
  });
});

describe('flow', () => {
  it('skipAfter jumps past the marker; skip skips rules', () => {
    const rs = load(
      [
        'SecAction "id:1,phase:1,pass,nolog,skipAfter:END"',
        'SecAction "id:2,phase:1,pass,log"',
        'SecMarker END',
        'SecAction "id:3,phase:1,pass,log,skip:1"',
        'SecAction "id:4,phase:1,pass,log"',
        'SecAction "id:5,phase:1,pass,log"',
      ].join('\n'),
    );
    expect(ids(run(rs, req()).tx)).toEqual([3, 5]);
  });
  it('paranoia-style gating with TX and skipAfter', () => {
    const text = [
      'SecRule TX:PARANOIA_LEVEL "@lt 2" "id:1,phase:1,pass,nolog,skipAfter:END-PL2"',
      'SecRule ARGS "@rx x" "id:2,phase:1,pass,log"',
      'SecMarker END-PL2',
    ].join('\n');
    expect(ids(run(load(text, { preamble: 'SecAction "id:9,phase:1,pass,nolog,setvar:tx.paranoia_level=1"' }), req('/?a=x')).tx)).toEqual([]);
    expect(ids(run(load(text, { preamble: 'SecAction "id:9,phase:1,pass,nolog,setvar:tx.paranoia_level=2"' }), req('/?a=x')).tx)).toEqual([2]);
  });
  it('block uses the phase default action; allow stops the request', () => {
    const rs = load(
      [
        'SecDefaultAction "phase:1,log,deny,status:406"',
        'SecRule ARGS:a "@streq 1" "id:1,phase:1,allow"',
        'SecRule ARGS "@rx evil" "id:2,phase:1,block"',
        'SecRule ARGS "@rx evil" "id:3,phase:2,deny"',
      ].join('\n'),
    );
    expect(run(rs, req('/?b=evil')).interruption).toEqual({ status: 406, ruleId: 2, action: 'deny' });
    const allowed = run(rs, req('/?a=1&b=evil'));
    expect(allowed.interruption).toBeUndefined();
    expect(ids(allowed.tx)).toEqual([1]);
  });
  it('allow:phase only ends the current phase', () => {
    const rs = load('SecAction "id:1,phase:1,allow:phase,nolog"\nSecAction "id:2,phase:1,deny"\nSecAction "id:3,phase:2,deny"');
    expect(run(rs, req()).interruption).toEqual({ status: 403, ruleId: 3, action: 'deny' });
  });
  it('drop and redirect interrupt; exec is refused at load', () => {
    expect(run(load('SecAction "id:1,phase:1,drop"'), req()).interruption?.action).toBe('drop');
    expect(run(load('SecAction "id:1,phase:1,redirect:http://x/"'), req()).interruption).toEqual({ status: 302, ruleId: 1, action: 'redirect' });
    const r = loadRules({ files: [{ file: 'e', text: 'SecAction "id:1,phase:1,exec:/bin/true"' }] });
    expect(r.ok && r.report.refused[0]?.message).toMatch(/exec is not supported/);
  });
});

describe('setvar and macros', () => {
  it('=, =+, =-, !, and macro expansion in names and values', () => {
    const rs = load(
      [
        'SecAction "id:1,phase:1,pass,nolog,setvar:tx.a=5,setvar:tx.a=+3,setvar:tx.b=10,setvar:tx.b=-4,setvar:tx.c=x,setvar:!tx.c"',
        'SecAction "id:2,phase:1,pass,nolog,setvar:\'tx.name_%{tx.a}=%{request_headers.host}/%{REQUEST_METHOD}\'"',
        'SecAction "id:3,phase:1,pass,nolog,setvar:ip.count=+1,setvar:tx.flag"',
      ].join('\n'),
    );
    const { tx } = run(rs, req());
    expect([tx.tx('a'), tx.tx('B'), tx.tx('c'), tx.tx('name_8'), tx.tx('flag')]).toEqual(['8', '6', undefined, 'example.com/GET', '1']);
  });
  it('logdata, msg and RULE macros', () => {
    const rs = load(
      'SecRule ARGS "@rx (e)vil" "id:7,phase:1,pass,log,capture,msg:\'m %{rule.id}\',logdata:\'%{TX.1} in %{MATCHED_VAR_NAME}=%{MATCHED_VAR}\',severity:2,tag:a,tag:b"',
    );
    expect(run(rs, req('/?q=evil')).tx.matches[0]).toMatchObject({
      id: 7,
      msg: 'm 7',
      data: 'e in ARGS:q=evil',
      severity: 'CRITICAL',
      tags: ['a', 'b'],
      variable: 'ARGS:q',
      phase: 1,
    });
  });
});

describe('variables', () => {
  it('selectors, case-insensitive keys, exclusions, counts', () => {
    const rs = load(
      [
        'SecRule REQUEST_HEADERS:user-agent "@rx bot" "id:1,phase:1,pass,log"',
        'SecRule ARGS|!ARGS:safe "@rx evil" "id:2,phase:1,pass,log"',
        'SecRule &ARGS "@eq 2" "id:3,phase:1,pass,log"',
        'SecRule ARGS_NAMES "@rx ^sa" "id:4,phase:1,pass,log"',
        'SecRule REQUEST_COOKIES:/^s/ "@rx x" "id:5,phase:1,pass,log"',
        'SecRule &TX:nothing "@eq 0" "id:6,phase:1,pass,log"',
        'SecRule &REQUEST_HEADERS:X-Missing "@eq 0" "id:7,phase:1,pass,log"',
      ].join('\n'),
    );
    expect(
      ids(
        run(
          rs,
          req('/?safe=evil&b=1', [
            ['User-Agent', 'a bot'],
            ['Cookie', 'sid=x; t=y'],
          ]),
        ).tx,
      ),
    ).toEqual([1, 3, 4, 5, 6, 7]);
    expect(ids(run(rs, req('/?safe=1&b=evil')).tx)).toContain(2);
  });
  it('request line variables', () => {
    const rs = load(
      [
        'SecRule REQUEST_FILENAME "@streq /a b/c.php" "id:1,phase:1,pass,log"',
        'SecRule REQUEST_BASENAME "@streq c.php" "id:2,phase:1,pass,log"',
        'SecRule QUERY_STRING "@streq x=%41" "id:3,phase:1,pass,log"',
        'SecRule REQUEST_URI "@streq /a%20b/c.php?x=%41" "id:4,phase:1,pass,log"',
        'SecRule REQUEST_LINE "@streq GET /a%20b/c.php?x=%41 HTTP/1.1" "id:5,phase:1,pass,log"',
        'SecRule ARGS_GET:x "@streq A" "id:6,phase:1,pass,log"',
        'SecRule REMOTE_ADDR "@ipMatch 192.0.2.0/24" "id:7,phase:1,pass,log"',
        'SecRule SERVER_NAME "@streq example.com" "id:8,phase:1,pass,log"',
      ].join('\n'),
    );
    expect(ids(run(rs, req('/a%20b/c.php?x=%41')).tx)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
  it('transformations apply in order and t:none clears defaults', () => {
    const rs = load(
      [
        'SecDefaultAction "phase:1,pass,log,t:lowercase"',
        // Defaults first (lowercase), then the rule's own: "%41BC" → "%41bc" → "Abc".
        'SecRule ARGS "@streq Abc" "id:1,phase:1,t:urlDecode"',
        'SecRule ARGS "@streq ABC" "id:2,phase:1,t:none"',
      ].join('\n'),
    );
    expect(ids(run(rs, req('/?a=%2541BC')).tx)).toEqual([1]);
    expect(ids(run(rs, req('/?a=ABC')).tx)).toEqual([2]);
  });
  it('multiMatch tests the value after every transformation', () => {
    const rs = load('SecRule ARGS "@streq %41" "id:1,phase:1,pass,log,t:urlDecode,multiMatch"');
    expect(ids(run(rs, req('/?a=%2541')).tx)).toEqual([1]);
  });
  it('negated operators', () => {
    const rs = load('SecRule REQUEST_METHOD "!@within GET HEAD" "id:1,phase:1,pass,log"');
    expect(ids(run(rs, req('/', [], 'PUT')).tx)).toEqual([1]);
    expect(ids(run(rs, req('/', [], 'GET')).tx)).toEqual([]);
  });
});

describe('ctl actions', () => {
  const evil = 'SecRule ARGS "@rx evil" "id:100,phase:2,deny,log,tag:attack-x"\nSecRule ARGS "@rx evil" "id:101,phase:2,pass,log,tag:attack-y"';
  it('ruleRemoveById / ruleRemoveByTag at run time', () => {
    expect(ids(run(load('SecAction "id:1,phase:1,pass,nolog,ctl:ruleRemoveById=100"\n' + evil), req('/?a=evil')).tx)).toEqual([101]);
    expect(ids(run(load('SecAction "id:1,phase:1,pass,nolog,ctl:ruleRemoveByTag=attack-x"\n' + evil), req('/?a=evil')).tx)).toEqual([101]);
  });
  it('ruleRemoveTargetById / ruleRemoveTargetByTag', () => {
    const byId = load('SecAction "id:1,phase:1,pass,nolog,ctl:ruleRemoveTargetById=100;ARGS:a"\n' + evil);
    expect(ids(run(byId, req('/?a=evil')).tx)).toEqual([101]);
    expect(ids(run(byId, req('/?b=evil')).tx)).toEqual([100]);
    const byTag = load('SecAction "id:1,phase:1,pass,nolog,ctl:ruleRemoveTargetByTag=attack-y;ARGS"\n' + evil);
    expect(ids(run(byTag, req('/?a=evil')).tx)).toEqual([100]);
  });
  it('ruleEngine=DetectionOnly for one transaction', () => {
    const rs = load('SecRule REQUEST_HEADERS:X-Test "@streq 1" "id:1,phase:1,pass,nolog,ctl:ruleEngine=DetectionOnly"\n' + evil);
    expect(run(rs, req('/?a=evil', [['X-Test', '1']])).interruption).toBeUndefined();
    expect(run(rs, req('/?a=evil')).interruption?.ruleId).toBe(100);
  });
  it('requestBodyAccess=Off and forceRequestBodyVariable', () => {
    const off = load('SecRequestBodyAccess On\nSecAction "id:1,phase:1,pass,nolog,ctl:requestBodyAccess=Off"');
    const tx = off.begin(req('/', [['Content-Length', '3']], 'POST'));
    tx.processHeaders();
    expect(tx.wantsBody).toBe(false);
    const forced = load(
      'SecRequestBodyAccess On\nSecAction "id:1,phase:1,pass,nolog,ctl:forceRequestBodyVariable=On"\nSecRule REQUEST_BODY "@streq hello" "id:2,phase:2,pass,log"',
    );
    expect(ids(run(forced, ...post('/', 'text/plain', 'hello')).tx)).toEqual([2]);
    const notForced = load('SecRequestBodyAccess On\nSecRule REQUEST_BODY "@streq hello" "id:2,phase:2,pass,log"');
    expect(ids(run(notForced, ...post('/', 'text/plain', 'hello')).tx)).toEqual([]);
  });
  it('requestBodyProcessor selects the parser; auditEngine/auditLogParts are accepted no-ops', () => {
    const rs = load(
      [
        'SecRequestBodyAccess On',
        'SecRule REQUEST_HEADERS:Content-Type "@rx json" "id:1,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON,ctl:auditEngine=Off,ctl:auditLogParts=+E"',
        'SecRule ARGS:json.a "@streq 1" "id:2,phase:2,pass,log"',
        'SecRule REQBODY_PROCESSOR "@streq JSON" "id:3,phase:2,pass,log"',
      ].join('\n'),
    );
    expect(ids(run(rs, ...post('/', 'application/json', '{"a":1}')).tx)).toEqual([2, 3]);
  });
});

describe('rule sets are independent', () => {
  it('cached transformation results are never shared between rule sets', () => {
    const lower = load('SecRule ARGS "@streq abc" "id:1,phase:1,pass,log,t:lowercase"');
    const upper = load('SecRule ARGS "@streq ABC" "id:1,phase:1,pass,log,t:uppercase"');
    for (let i = 0; i < 2; i++) {
      expect(ids(run(lower, req('/?a=AbC')).tx)).toEqual([1]);
      expect(ids(run(upper, req('/?a=AbC')).tx)).toEqual([1]);
    }
  });
});
