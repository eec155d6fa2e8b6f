import { describe, expect, it } from 'vitest';
import { parseActionList } from '../../../src/waf/seclang/actions-parser.js';
import { lexConfig, splitArguments } from '../../../src/waf/seclang/lexer.js';
import { parseVariables } from '../../../src/waf/seclang/variables-parser.js';
import { expandMacro, parseMacro } from '../../../src/waf/macro.js';

describe('lexer', () => {
  it('joins continued lines and drops comments', () => {
    const { directives, errors } = lexConfig('# c\nSecRule ARGS "@rx a" \\\n   "id:1,\\\n   phase:2"\n\nSecMarker END\n', 'f.conf');
    expect(errors).toEqual([]);
    expect(directives.map((d) => [d.name, d.line])).toEqual([
      ['SecRule', 2],
      ['SecMarker', 6],
    ]);
    expect(directives[0]?.args).toEqual(['ARGS', '@rx a', 'id:1,   phase:2']);
  });
  it('unescapes \\" and \\\\ inside quotes like Apache, keeps other backslashes', () => {
    expect(splitArguments('SecRule ARGS "@rx \\"a\\\\\\\\b\\d"')).toEqual(['SecRule', 'ARGS', '@rx "a\\\\b\\d']);
    expect(splitArguments("A 'b c' d")).toEqual(['A', 'b c', 'd']);
  });
  it('reports an unclosed quote with file:line', () => {
    const { errors } = lexConfig('\nSecRule ARGS "@rx a', 'x.conf');
    expect(errors[0]).toMatchObject({ file: 'x.conf', line: 2 });
  });
});

describe('action lists', () => {
  it('splits on commas outside quotes, lower-cases names', () => {
    const actions = parseActionList("id:1,Phase:2,msg:'a, b',t:none,setvar:'tx.x=%{tx.y}',nolog");
    expect(actions).toEqual([
      { name: 'id', value: '1' },
      { name: 'phase', value: '2' },
      { name: 'msg', value: 'a, b' },
      { name: 't', value: 'none' },
      { name: 'setvar', value: 'tx.x=%{tx.y}' },
      { name: 'nolog', value: undefined },
    ]);
  });
  it("handles \\' inside quoted values and ctl values with ':'", () => {
    expect(parseActionList("msg:'it\\'s',ctl:ruleRemoveTargetById=1;ARGS:x")).toEqual([
      { name: 'msg', value: "it's" },
      { name: 'ctl', value: 'ruleRemoveTargetById=1;ARGS:x' },
    ]);
  });
});

describe('variables', () => {
  it('parses selectors, exclusions, counts and regexes', () => {
    const v = parseVariables("ARGS|!ARGS:foo|&TX:bar|REQUEST_HEADERS:/^x-(a|b)/|XML:/*|TX:'/^a\\/b/'");
    expect(v).toEqual([
      { collection: 'ARGS', selector: { kind: 'all' }, count: false, exclude: false },
      { collection: 'ARGS', selector: { kind: 'key', key: 'foo' }, count: false, exclude: true },
      { collection: 'TX', selector: { kind: 'key', key: 'bar' }, count: true, exclude: false },
      { collection: 'REQUEST_HEADERS', selector: { kind: 'regex', source: '^x-(a|b)' }, count: false, exclude: false },
      { collection: 'XML', selector: { kind: 'xpath', path: '/*' }, count: false, exclude: false },
      { collection: 'TX', selector: { kind: 'regex', source: '^a\\/b' }, count: false, exclude: false },
    ]);
  });
  it('rejects malformed lists', () => {
    expect(typeof parseVariables('AR GS')).toBe('string');
    expect(typeof parseVariables('ARGS:/abc')).toBe('string');
  });
});

describe('macros', () => {
  it('parses and expands %{collection.key} and %{VAR}', () => {
    const m = parseMacro('score=%{tx.anomaly_score} var=%{MATCHED_VAR} %{unclosed');
    expect(m.constant).toBe(false);
    const out = expandMacro(m, (ref) => (ref.collection === 'TX' ? `[${ref.key}]` : ref.collection));
    expect(out).toBe('score=[anomaly_score] var=MATCHED_VAR %{unclosed');
    expect(parseMacro('plain').constant).toBe(true);
  });
});
