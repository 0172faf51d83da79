import { parseIncident } from '../../src/incidents/parse-incident';
import { renderIncidentCard } from '../../src/incidents/render-incident-card';
import type { Digest } from '../../src/store/digest-queue';
import { renderDigestCard, withBackToDigest } from '../../src/teams/render-digest-card';
import { cardProblems } from '../helpers/card-validation';
import { demoIncident, withProperties } from '../helpers/fixtures';

const portalUrl = 'https://portal.azure.com';

const digestOf = (titles: string[], severity = 'Low'): Digest => ({
  id: 3,
  conversationId: 'c1',
  startedAt: new Date('2026-11-24T10:00:00Z'),
  sealed: false,
  lines: titles.map((title, n) => ({ incident: parseIncident(withProperties(demoIncident('unfamiliar-signin'), { incidentNumber: 900 + n, title, severity }), { portalUrl }), ownCard: false })),
});

describe('the storm digest card', () => {
  it('is a valid Adaptive Card with a line and an Open button per incident, and the count', () => {
    const digest = digestOf(['First', 'Second', 'Third']);
    digest.lines[1]!.ownCard = true;
    digest.lines[1]!.incident.severity = 'High';
    const card = renderDigestCard(digest, new Date('2026-11-24T10:05:00Z')).content;
    expect(cardProblems(card)).toEqual([]);
    const text = JSON.stringify(card);
    expect(text).toContain('Storm digest #3 · 3 incidents');
    expect(text).toContain('1 High · 2 Low · 1 since raised to their own card');
    expect(text).toContain('now High: posted as its own card');
    expect(text.match(/"verb":"digest.open","data":\{"incident":9\d\d\}/g)).toHaveLength(3);
  });

  it('stays under Teams’ message size with 50 lines of hostile 300-character titles', () => {
    const worst = '*_[`<'.repeat(60);
    const card = renderDigestCard(digestOf(Array.from({ length: 50 }, () => worst))).content;
    expect(Buffer.byteLength(JSON.stringify(card))).toBeLessThan(28_000);
    expect(JSON.stringify(card)).not.toMatch(/[^\\]\*_/);
    expect(cardProblems(card)).toEqual([]);
  });

  it('shows the newest lines of a very long digest and says how many more, within the size', () => {
    const card = renderDigestCard(digestOf(Array.from({ length: 300 }, (_, n) => `${n} ${'*_[`<'.repeat(200)}`))).content;
    const text = JSON.stringify(card);
    expect(Buffer.byteLength(text)).toBeLessThan(26_000);
    expect(text).toContain('Storm digest #3 · 300 incidents');
    expect(text).toMatch(/…and \d+ more in this digest: `incidents` lists every open incident/);
    expect(cardProblems(card)).toEqual([]);
  });

  it('adds the way back to an incident card opened from it, without changing the original', () => {
    const incidentCard = renderIncidentCard(parseIncident(demoIncident('unfamiliar-signin'), { portalUrl }));
    const before = JSON.stringify(incidentCard);
    const opened = withBackToDigest(incidentCard, 3).content;
    expect(JSON.stringify(incidentCard)).toBe(before);
    expect(cardProblems(opened)).toEqual([]);
    expect(JSON.stringify((opened.body as unknown[]).at(-1))).toContain('"verb":"digest.show","data":{"digest":3}');
  });
});
