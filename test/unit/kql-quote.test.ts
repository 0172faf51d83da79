import { kqlLiterals } from '../../sandbox/loganalytics';
import { bindEntity, quoteKqlString } from '../../src/enrichment/kql-quote';

const HOSTILE = [
  "O'Brien@contoso.example",
  "x' | project secret | where 1 == '1",
  "'; .drop table SigninLogs; //",
  '\\\\server\\share\\evil.exe',
  "a\\'b",
  '" or 1==1 //',
  '| take 100000000',
  '${{entity}}',
  'héllo-wörld-日本',
  "''''",
  'x'.repeat(5000),
];

describe('quoting entity values into KQL', () => {
  it.each(HOSTILE.map((v) => [v.slice(0, 40), v]))('keeps %j one literal, holding exactly the value', (_label, value) => {
    const query = bindEntity('SigninLogs\n| where UserPrincipalName =~ {{entity}}\n| summarize count()', value);
    // The structure around the literal is untouched, and the literal reads back as the value.
    const literal = quoteKqlString(value);
    expect(query).toBe(`SigninLogs\n| where UserPrincipalName =~ ${literal}\n| summarize count()`);
    expect(kqlLiterals(query)).toEqual([value]);
    // Outside the literal nothing of the value survives: removing it leaves only the template.
    expect(query.replace(literal, '')).toBe('SigninLogs\n| where UserPrincipalName =~ \n| summarize count()');
  });

  it('refuses control characters instead of changing the value', () => {
    expect(() => quoteKqlString('admin\n| take 10')).toThrow(/control characters/);
    expect(() => quoteKqlString('a\u0000b')).toThrow(/control characters/);
  });
});
