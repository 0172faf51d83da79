import { assessSeverity, recommend, riskScore } from '../../src/enrichment/scoring';
import { summarizeEnrichment } from '../../src/enrichment/summarize';
import type { EnrichmentProvider } from '../../src/enrichment/orchestrator';
import type { SourceResult } from '../../src/enrichment/types';
import { parseIncident } from '../../src/incidents/parse-incident';
import { demoIncident } from '../helpers/fixtures';

const ok = (score?: number, facts: Record<string, string | number | boolean | null> = {}): SourceResult => ({ status: 'ok', source: 's', score, facts, at: '' });
const down: SourceResult = { status: 'unavailable', source: 's', reason: 'timed out after 50 ms', at: '' };

describe('scoring', () => {
  it.each([
    [[ok(64.4), ok(100)], 82.2],
    [[ok(0), ok(0)], 0],
    [[ok(90), down], 90],
    [[ok(undefined, { privileged: true }), ok(40)], 40],
    [[down], undefined],
    [[], undefined],
  ])('risk of %j is %s (mean of the scores given)', (results, expected) => {
    const score = riskScore(results as SourceResult[]);
    if (expected === undefined) expect(score).toBeUndefined();
    else expect(score).toBeCloseTo(expected);
  });

  it.each([
    [100, 'BLOCK_IMMEDIATELY'],
    [81, 'BLOCK_IMMEDIATELY'],
    [80.5, 'BLOCK_IMMEDIATELY'],
    [80, 'INVESTIGATE'],
    [51, 'INVESTIGATE'],
    [50, 'MONITOR'],
    [0, 'MONITOR'],
  ])('recommends for %s: %s', (score, expected) => {
    expect(recommend(score)).toBe(expected);
  });

  it.each([
    [81, true, 'Critical'],
    [81, false, 'High'],
    [80, true, 'High'],
    [51, false, 'High'],
    [50, true, undefined],
    [10, false, undefined],
  ])('assesses score %s, privileged %s as %s', (score, privileged, expected) => {
    expect(assessSeverity(score, privileged)).toBe(expected);
  });

  it("lets the riskiest entity decide the incident's verdict, and counts what is still pending", () => {
    const incident = parseIncident(demoIncident('brute-force-admin'), { portalUrl: 'https://portal.azure.com' });
    const providers: EnrichmentProvider[] = ['intel', 'directory', 'logs'].map((name) => ({ name, supports: () => true, lookup: async () => down }));
    const summary = summarizeEnrichment(
      incident,
      [
        { entityKind: 'ip', entityValue: '203.0.113.66', source: 'intel', result: ok(96) },
        { entityKind: 'account', entityValue: 'admin.jane@contoso.example', source: 'intel', result: ok(10) },
        { entityKind: 'account', entityValue: 'admin.jane@contoso.example', source: 'directory', result: ok(undefined, { privileged: true }) },
      ],
      providers,
    );
    expect(summary).toMatchObject({ score: 96, recommendation: 'BLOCK_IMMEDIATELY', assessedSeverity: 'Critical', privileged: true, planned: 6, pending: 3 });
  });
});
