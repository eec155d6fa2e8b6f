/**
 * The evaluation shortcuts must not change outcomes: rules skipped by the candidate scan
 * (engine/candidates.ts) and constant rules replayed from their record
 * (engine/constant-memo.ts) behave as if evaluated.
 */
import { describe, expect, it } from 'vitest';
import { ids, load, post, req, run } from './waf-test-kit.js';

describe('candidate scan (rules gated on their literal filter)', () => {
  it('sees the transformed value, every prefix with multiMatch, and @pm phrases', () => {
    const rs = load(
      [
        'SecRule ARGS "@rx <script" "id:1,phase:1,pass,log,t:none,t:urlDecodeUni,t:lowercase"',
        'SecRule ARGS "@rx (?i)%3c" "id:2,phase:1,pass,log,t:none,t:urlDecodeUni,t:lowercase,multiMatch"',
        'SecRule ARGS "@pm evil bad" "id:3,phase:1,pass,log,t:none,t:lowercase"',
        'SecRule ARGS "@rx (?i)%3c" "id:4,phase:1,pass,log,t:none,t:urlDecodeUni"',
      ].join('\n'),
    );
    // ARGS holds "%3CSCRIPT" (the query is decoded once): only the transformed value has
    // "<script", only the untransformed one "%3c" (which multiMatch also tests).
    expect(ids(run(rs, req('/?a=%253CSCRIPT')).tx)).toEqual([1, 2]);
    expect(ids(run(rs, req('/?a=EVIL')).tx)).toEqual([3]);
    expect(ids(run(rs, req('/?a=fine')).tx)).toEqual([]);
  });

  it('negated operators still match values without the literal', () => {
    const rs = load('SecRule ARGS "!@rx ^(?:GET|HEAD)$" "id:1,phase:1,pass,log"');
    expect(ids(run(rs, req('/?a=PUT')).tx)).toEqual([1]);
    expect(ids(run(rs, req('/?a=GET')).tx)).toEqual([]);
  });

  it('rescans after the body adds arguments, and honours ctl target exclusions', () => {
    const rs = load(
      [
        'SecRequestBodyAccess On',
        'SecRule ARGS "@rx attack" "id:1,phase:2,pass,log"',
        'SecRule REQUEST_URI "@rx ^/skip" "id:2,phase:1,pass,nolog,ctl:ruleRemoveTargetById=1;ARGS:q"',
      ].join('\n'),
    );
    expect(ids(run(rs, ...post('/', 'application/x-www-form-urlencoded', 'q=attack')).tx)).toEqual([1]);
    expect(ids(run(rs, ...post('/skip', 'application/x-www-form-urlencoded', 'q=attack')).tx)).toEqual([]);
    expect(ids(run(rs, ...post('/skip', 'application/x-www-form-urlencoded', 'r=attack')).tx)).toEqual([1]);
  });

  it('@validateByteRange is decided by the scan too', () => {
    const rs = load('SecRule ARGS "@validateByteRange 32-126" "id:1,phase:1,pass,log,t:none,t:urlDecodeUni"');
    expect(ids(run(rs, req('/?a=plain%20text')).tx)).toEqual([]);
    expect(ids(run(rs, req('/?a=nul%00')).tx)).toEqual([1]);
    expect(ids(run(rs, req('/?a=high%ff')).tx)).toEqual([1]);
  });

  it('gates only the chain starter', () => {
    const rs = load(['SecRule ARGS:a "@rx select" "id:1,phase:1,pass,log,chain"', '  SecRule ARGS:b "!@rx select" "t:none"'].join('\n'));
    expect(ids(run(rs, req('/?a=select&b=x')).tx)).toEqual([1]);
    expect(ids(run(rs, req('/?a=select&b=select')).tx)).toEqual([]);
  });
});

describe('constant rules (recorded once, replayed)', () => {
  const init = [
    'SecAction "id:1,phase:1,pass,nolog,setvar:tx.paranoia_level=1"',
    'SecRule &TX:executing_paranoia_level "@eq 0" "id:2,phase:1,pass,nolog,setvar:\'tx.executing_paranoia_level=%{TX.PARANOIA_LEVEL}\'"',
    'SecAction "id:3,phase:1,pass,nolog,setvar:tx.score=0,setvar:tx.crit=5"',
    'SecRule TX:EXECUTING_PARANOIA_LEVEL "@lt 1" "id:4,phase:1,pass,nolog,skipAfter:END-1"',
    'SecRule ARGS "@rx evil" "id:5,phase:1,pass,log,setvar:\'tx.score=+%{tx.crit}\'"',
    'SecMarker END-1',
    'SecRule TX:EXECUTING_PARANOIA_LEVEL "@lt 2" "id:6,phase:1,pass,nolog,skipAfter:END-2"',
    'SecRule ARGS "@rx bad" "id:7,phase:1,pass,log,setvar:\'tx.score=+%{tx.crit}\'"',
    'SecMarker END-2',
    'SecRule TX:SCORE "@ge 5" "id:8,phase:2,deny,log"',
  ].join('\n');

  it('gives the same outcome in every transaction', () => {
    const rs = load(init);
    for (let n = 0; n < 3; n++) {
      const clean = run(rs, req('/?a=ok'));
      expect(ids(clean.tx)).toEqual([]);
      expect([clean.tx.tx('executing_paranoia_level'), clean.tx.tx('score')]).toEqual(['1', '0']);
      const attack = run(rs, req('/?a=evil'));
      expect(ids(attack.tx)).toEqual([5, 8]);
      expect(attack.interruption?.ruleId).toBe(8);
      expect(ids(run(rs, req('/?a=bad')).tx)).toEqual([]); // above the paranoia level
    }
  });

  it('a rule reading what request-dependent rules write is evaluated every time', () => {
    const rs = load(
      ['SecRule ARGS:level "@rx ^\\d$" "id:1,phase:1,pass,nolog,capture,setvar:tx.level=%{TX.0}"', 'SecRule TX:level "@eq 2" "id:2,phase:1,pass,log"'].join(
        '\n',
      ),
    );
    for (let n = 0; n < 2; n++) {
      expect(ids(run(rs, req('/?level=2')).tx)).toEqual([2]);
      expect(ids(run(rs, req('/?level=3')).tx)).toEqual([]);
    }
  });

  it('request-dependent jumps and ctl removals disturb the replay', () => {
    const rs = load(
      [
        'SecRule ARGS:skip "@rx ." "id:1,phase:1,pass,nolog,skipAfter:AFTER"',
        'SecAction "id:2,phase:1,pass,nolog,setvar:tx.seen=1"',
        'SecMarker AFTER',
        'SecRule ARGS:off "@rx ." "id:3,phase:1,pass,nolog,ctl:ruleRemoveById=5"',
        'SecRule &TX:seen "@eq 0" "id:4,phase:1,pass,log"',
        'SecAction "id:5,phase:1,pass,log"',
      ].join('\n'),
    );
    for (let n = 0; n < 2; n++) {
      expect(ids(run(rs, req('/')).tx)).toEqual([5]);
      expect(ids(run(rs, req('/?skip=1')).tx)).toEqual([4, 5]);
      expect(ids(run(rs, req('/?off=1')).tx)).toEqual([]);
    }
  });

  it('replays the match state later rules can read', () => {
    const rs = load(
      [
        'SecAction "id:1,phase:1,pass,nolog,setvar:tx.a=1"',
        'SecRule TX:a "@eq 1" "id:2,phase:1,pass,nolog"',
        'SecRule TX:a "@eq 1" "id:3,phase:1,pass,nolog"',
        'SecRule MATCHED_VAR "@streq 1" "id:4,phase:1,pass,log,msg:\'%{MATCHED_VAR_NAME}\'"',
      ].join('\n'),
    );
    for (let n = 0; n < 3; n++) {
      const { tx } = run(rs, req('/'));
      expect(ids(tx)).toEqual([4]);
      expect(tx.matches[0]?.msg).toBe('MATCHED_VAR');
    }
  });

  it('a logging or disruptive constant rule still logs and disrupts every time', () => {
    const rs = load('SecRule &TX:crs_setup_version "@eq 0" "id:1,phase:1,deny,status:500,log,msg:\'no setup\'"');
    for (let n = 0; n < 3; n++) expect(run(rs, req('/')).interruption).toEqual({ status: 500, ruleId: 1, action: 'deny' });
  });
});
