import fc from 'fast-check';
import { formatRouteRule, MAX_RULE_LENGTH, parseRouteRule } from '../../src/routing/parse-route-rule';
import { matchesPattern, ROUTE_SEVERITIES, routingFactsOf, ruleMatches, type Condition, type RouteRule } from '../../src/routing/route-rule';
import type { Incident } from '../../src/incidents/incident';

const parsed = (text: string): RouteRule => {
  const r = parseRouteRule(text);
  if (!r.ok) throw new Error(r.error);
  return r.rule;
};
const errorOf = (text: string): string => {
  const r = parseRouteRule(text);
  if (r.ok) throw new Error(`parsed: ${formatRouteRule(r.rule)}`);
  return r.error;
};

const severity = fc.constantFrom(...ROUTE_SEVERITIES);
/** Values as people type them, and the awkward ones: spaces, commas, quotes, backslashes, wildcards, any Unicode. */
const value = fc.oneof(
  fc.constantFrom('contoso', '*phish*', 'Microsoft Defender for Endpoint', 'a,b', 'say "hi"', 'C:\\temp', '?x*'),
  fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }).filter((v) => !/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(v)),
);
const condition: fc.Arbitrary<Condition> = fc.oneof(
  fc.record({ key: fc.constantFrom('severity', 'sentinel-severity'), op: fc.constantFrom('>=', '<=', '>', '<'), values: severity.map((s) => [s]) }) as fc.Arbitrary<Condition>,
  fc.record({ key: fc.constantFrom('severity', 'sentinel-severity'), op: fc.constantFrom('=', '!='), values: fc.array(severity, { minLength: 1, maxLength: 3 }) }) as fc.Arbitrary<Condition>,
  fc.record({
    key: fc.constantFrom('workspace', 'provider', 'product', 'rule', 'title', 'tag'),
    op: fc.constantFrom('=', '!='),
    values: fc.array(value, { minLength: 1, maxLength: 3 }),
  }) as fc.Arbitrary<Condition>,
);
const rule = fc.record({ conditions: fc.array(condition, { maxLength: 4 }) }).filter((r) => formatRouteRule(r).length <= MAX_RULE_LENGTH);

const incident = (changes: Partial<Incident> = {}): Incident => ({
  id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/contoso-ws/providers/Microsoft.SecurityInsights/Incidents/abc',
  key: 'k',
  number: 1041,
  title: 'Password spray against Entra ID',
  description: '',
  severity: 'Low',
  status: 'New',
  createdAt: '2026-11-24T00:00:00Z',
  url: 'https://portal.azure.com',
  labels: ['bec'],
  products: ['Azure Active Directory Identity Protection'],
  tactics: [],
  techniques: [],
  alertCount: 1,
  ruleIds: ['/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/contoso-ws/providers/Microsoft.SecurityInsights/alertRules/6b7a1c2e'],
  entities: [],
  ...changes,
});

describe('route rules: the syntax', () => {
  it('reads back every rule it writes, as the same rule', () => {
    fc.assert(
      fc.property(rule, (r) => expect(parsed(formatRouteRule(r))).toEqual(r)),
      { numRuns: 500 },
    );
  });

  it('answers any text with a rule or an error, never a throw, and a rule it takes it writes back the same', () => {
    const typed = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.array(fc.constantFrom('severity', 'tag', '>=', '=', '!=', ',', '"', '\\', ' ', 'High', 'x', '*'), { maxLength: 12 }).map((p) => p.join('')),
    );
    fc.assert(
      fc.property(typed, (text) => {
        const r = parseRouteRule(text);
        if (r.ok) expect(parsed(formatRouteRule(r.rule))).toEqual(r.rule);
        else expect(r.error).toMatch(/\.$/);
      }),
      { numRuns: 2000 },
    );
  });

  it('takes the forms the help shows', () => {
    expect(formatRouteRule(parsed('severity>=High workspace=contoso'))).toBe('severity>=High workspace=contoso');
    expect(formatRouteRule(parsed('  SEVERITY>=high   tag=phish,bec '))).toBe('severity>=High tag=phish,bec');
    expect(formatRouteRule(parsed('title="*password spray*" provider!=defender'))).toBe('title="*password spray*" provider!=defender');
    expect(parsed('ALL')).toEqual({ conditions: [] });
  });

  it('refuses what it cannot read, saying what and where', () => {
    expect(errorOf('')).toMatch(/empty/);
    expect(errorOf('sevrity>=High')).toBe('`sevrity` is not a condition; conditions are severity, sentinel-severity, workspace, provider, product, rule, title, tag (at character 1).');
    expect(errorOf('severity>=Hgh')).toMatch(/^`Hgh` is not a severity; severities are Informational, Low, Medium, High, Critical \(at character 11\)\.$/);
    expect(errorOf('severity>=High,Medium')).toMatch(/compares with one severity/);
    expect(errorOf('tag>=x')).toMatch(/`tag` takes = or !=/);
    expect(errorOf('workspace')).toMatch(/needs an operator/);
    expect(errorOf('workspace=')).toMatch(/needs a value \(at character 11\)/);
    expect(errorOf('title="open')).toMatch(/not closed/);
    expect(errorOf('title="a"b')).toMatch(/Unexpected `b`/);
    expect(errorOf('tag=a,,b')).toMatch(/needs a value/);
    expect(errorOf('all severity=High')).toMatch(/stands alone/);
    expect(errorOf('title="\\n"')).toMatch(/only `\\"` and `\\\\` are escapes/);
    expect(errorOf('title="a\nb"')).toBe('The rule holds a control or invisible character; type it again on one line (at character 9).');
    expect(errorOf('tag=a\u200bb')).toMatch(/invisible/);
    expect(errorOf('severity=`x')).toMatch(/^`` `x `` is not a severity/);
    expect(errorOf('x'.repeat(MAX_RULE_LENGTH + 1))).toMatch(/at most 500 characters/);
    expect(errorOf(Array.from({ length: 11 }, () => 'tag=x').join(' '))).toMatch(/at most 10 conditions/);
  });
});

describe('route rules: what they take', () => {
  const takes = (text: string, i: Incident, assessed?: string) => ruleMatches(parsed(text), routingFactsOf(i, assessed));

  it('goes by Vigil’s assessed severity where it has one, by Sentinel’s with sentinel-severity', () => {
    expect(takes('severity>=High', incident())).toBe(false);
    expect(takes('severity>=High', incident(), 'High')).toBe(true);
    expect(takes('severity=Critical', incident(), 'Critical')).toBe(true);
    expect(takes('sentinel-severity>=High', incident(), 'High')).toBe(false);
    expect(takes('severity<Medium', incident())).toBe(true);
    expect(takes('severity!=Low,Informational', incident())).toBe(false);
  });

  it('matches workspace, provider, product, analytic rule, title and tags as case-insensitive patterns', () => {
    expect(takes('workspace=CONTOSO-WS', incident())).toBe(true);
    expect(takes('workspace=fabrikam', incident())).toBe(false);
    expect(takes('provider=sentinel', incident())).toBe(true);
    expect(takes('provider=defender', incident({ writeBack: 'graph' }))).toBe(true);
    expect(takes('product="*identity protection"', incident())).toBe(true);
    expect(takes('rule=6b7a1c2e', incident())).toBe(true);
    expect(takes('title="*password spray*"', incident())).toBe(true);
    expect(takes('title=password', incident())).toBe(false);
    expect(takes('tag=phish,BEC', incident())).toBe(true);
    expect(takes('tag!=bec', incident())).toBe(false);
    expect(takes('all', incident())).toBe(true);
    expect(takes('severity>=Low workspace=contoso-ws tag=nope', incident())).toBe(false);
  });

  it('matches wildcards like a reference matcher, and quickly on a hostile pattern', () => {
    const reference = (p: string, t: string) => new RegExp(`^${[...p].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('')}$`, 'isu').test(t);
    const text = fc.string({ maxLength: 8, unit: fc.constantFrom('a', 'b', 'A', '*', '?') });
    fc.assert(
      fc.property(text, fc.string({ maxLength: 8, unit: fc.constantFrom('a', 'b', 'A') }), (p, t) => expect(matchesPattern(p, t)).toBe(reference(p, t))),
      { numRuns: 2000 },
    );
    expect(matchesPattern(`${'*a'.repeat(100)}b`, 'a'.repeat(5000))).toBe(false);
  });
});
