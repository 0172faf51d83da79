import { parseIncident } from '../../src/incidents/parse-incident';
import { renderStatsCard } from '../../src/stats/render-stats-card';
import { computeSocStats, median, metricResponseTimes } from '../../src/stats/soc-stats';
import { requestAction } from '../../src/store/action-repository';
import type { Db } from '../../src/store/db';
import { saveAssessedSeverity, upsertIncident } from '../../src/store/incident-repository';
import { acknowledgePage, openPage } from '../../src/store/page-repository';
import { migrate } from '../../src/store/migrations';
import { createMetrics } from '../../src/metrics';
import { loadSchedule } from '../../src/paging/load-schedule';
import { computeShiftSummary, renderShiftSummaryCard } from '../../src/stats/shift-summary';
import { cardBytes, CARD_BUDGET_BYTES } from '../../src/cards/budget';
import { cardProblems } from '../helpers/card-validation';
import { demoIncident, withProperties } from '../helpers/fixtures';
import { openTestDb } from '../helpers/test-app';

const NOW = new Date('2026-12-01T12:00:00Z');
const min = (n: number) => n * 60_000;
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const ALEX = 'a1b2c3d4-0000-4000-8000-000000000020';

/** An incident raised at `at`, stored as the webhook stores it. */
const raise = async (db: Db, name: string, number: number, at: Date) => {
  const body = withProperties(demoIncident(name), { incidentNumber: number, createdTimeUtc: at.toISOString() });
  body.object.id = `${body.object.id}-${number}`;
  body.object.name = `${body.object.name}-${number}`;
  const incident = parseIncident(body, { portalUrl: 'https://portal.azure.com' });
  await upsertIncident(db, incident);
  return incident;
};

/** A block asked for at `requested`, approved (in the audit) at `approved`, done at `done`. */
const block = async (db: Db, incidentKey: string, ip: string, requested: Date, approved?: Date, done?: Date) => {
  const r = await requestAction(db, { incidentKey, target: { kind: 'block-ip', ip }, requestedBy: ALEX, approvalsNeeded: 1, expiresAt: new Date(requested.getTime() + min(60)) }, { now: requested });
  if (r.kind !== 'created') throw new Error(r.kind);
  if (approved) await db.query(`INSERT INTO audit (at, actor, action, target, details) VALUES ($1, 'megan', 'action.approved', $2, '{}')`, [approved, incidentKey]);
  if (done) await db.query(`UPDATE actions SET state = 'succeeded', started_at = $2, ended_at = $3 WHERE id = $1`, [r.action.id, approved, done]);
};

describe('the SOC numbers, from stored data at a fixed clock', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openTestDb();
    await migrate(db).catch(() => undefined);
    // Two days ago: only in the 7-day window. Contained 60 min after it was raised.
    const old = await raise(db, 'brute-force-admin', 2001, ago(min(48 * 60)));
    await block(db, old.key, '203.0.113.66', ago(min(48 * 60 - 10)), ago(min(48 * 60 - 30)), ago(min(48 * 60 - 60)));
    // Three hours ago: assessed Critical, paged and acknowledged after 4 min, contained after 20 min.
    const crit = await raise(db, 'brute-force-admin', 2002, ago(min(180)));
    await saveAssessedSeverity(db, crit.key, 'Critical');
    await openPage(db, crit.key, 'severity Critical', 'vigil', ago(min(180)));
    await acknowledgePage(db, crit.key, ALEX, ago(min(176)));
    await block(db, crit.key, '203.0.113.66', ago(min(178)), ago(min(170)), ago(min(160)));
    // An hour ago: requested, not yet approved.
    const med = await raise(db, 'powershell-web-01', 2003, ago(min(60)));
    await block(db, med.key, '198.51.100.7', ago(min(50)));
  });
  afterAll(async () => db.close());

  it('counts the last 24 hours and the last 7 days: incidents by assessed severity, medians, actions by outcome, recurring entities', async () => {
    const day = await computeSocStats(db, NOW, 24 * 3_600_000);
    expect(day.incidents).toBe(2);
    expect(day.bySeverity).toMatchObject({ Critical: 1, High: 0 });
    expect(day.durations.acknowledgeMs).toEqual([min(4)]);
    expect(day.durations.containmentMs).toEqual([min(20)]);
    expect(day.durations.approvalMs).toEqual([min(10)]);
    expect(day.durations.firstRequestMs.sort((a, b) => a - b)).toEqual([min(2), min(10)]);
    expect(day.actions).toEqual(
      expect.arrayContaining([
        { kind: 'block-ip', outcome: 'succeeded', count: 1 },
        { kind: 'block-ip', outcome: 'requested', count: 1 },
      ]),
    );

    const week = await computeSocStats(db, NOW, 7 * 24 * 3_600_000);
    expect(week.incidents).toBe(3);
    expect(median(week.durations.containmentMs)).toBe(min(40));
    expect(week.topEntities[0]).toMatchObject({ kind: 'ip', value: '203.0.113.66', incidents: 2 });

    const card = renderStatsCard([
      { title: 'Last 24 hours', stats: day },
      { title: 'Last 7 days', stats: week },
    ]).content;
    expect(cardProblems(card)).toEqual([]);
    const text = JSON.stringify(card);
    expect(text).toContain('"Median to contain","value":"20 min (1)"');
    expect(text).toContain('"Median to contain","value":"40 min (2)"');
    expect(text).toContain('"Median time to acknowledge","value":"4 min (1)"');
    expect(text).toContain('Block IP: 1 waiting, 1 done');
    expect(text).toContain('Block IP: 2 done, 1 waiting');
    expect(text).toContain('203.0.113.66 (2)');
  });

  it('reports the last 7 days as the vigil_response_seconds histogram', async () => {
    const metrics = createMetrics();
    metrics.readResponseTimesFrom(() => metricResponseTimes(db, NOW));
    const text = await metrics.registry.metrics();
    expect(text).toContain('vigil_response_seconds_count{step="containment"} 2');
    expect(text).toContain('vigil_response_seconds_sum{step="containment"} 4800');
    expect(text).toContain('vigil_response_seconds_count{step="acknowledge"} 1');
    expect(text).toContain('vigil_response_seconds_bucket{le="300",step="acknowledge"} 1');
  });

  it('hands the shift over: what came in, what is still open, what was contained, who is on call next, by name', async () => {
    const schedule = loadSchedule('demo/oncall.yaml');
    const names: Record<string, string> = { 'a1b2c3d4-0000-4000-8000-000000000020': 'Alex Wilber', '7faf8ab2-3d56-4244-b585-20c8a42ed2b8': 'Megan Bowen' };
    const summary = await computeShiftSummary(db, schedule, ago(min(8 * 60)), NOW, async (p) => ({ name: names[p] ?? p }));
    expect(summary.cameIn.map((x) => x.incident.number)).toEqual([2003, 2002]);
    expect(summary.stillOpen.map((x) => x.incident.number)).toEqual([2002, 2001, 2003]);
    expect(summary.contained.map((x) => x.number)).toEqual([2002]);
    expect(summary.next).toEqual([
      { level: 1, who: 'Alex Wilber' },
      { level: 2, who: 'Megan Bowen' },
      { level: 3, who: 'the SOC channel' },
    ]);
    const card = renderShiftSummaryCard(summary);
    expect(cardProblems(card.content)).toEqual([]);
    expect(cardBytes(card)).toBeLessThanOrEqual(CARD_BUDGET_BYTES);
    const text = JSON.stringify(card.content);
    expect(text).toContain('On call next: L1 Alex Wilber → L2 Megan Bowen → L3 the SOC channel');
    expect(text).toContain('✅ #2002 Block IP 203.0.113.66');
    expect(text).toContain('Europe/Amsterdam');
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-4000/);
  });
});
