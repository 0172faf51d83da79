import path from 'node:path';
import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { SANDBOX_PAGERDUTY_WEBHOOK_SECRET } from '../../sandbox/pagerduty';
import { startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import type { Db } from '../../src/store/db';
import { eventually } from '../helpers/actions-setup';
import { demoIncident, withProperties } from '../helpers/fixtures';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';
import { botInstalledInTeam, personalMessage } from '../helpers/teams-activities';
import { startTestApp, type TestApp } from '../helpers/test-app';

const ALEX = 'a1b2c3d4-0000-4000-8000-000000000020';
const ROUTING_KEY = 'r'.repeat(32);
const scheduleFile = path.resolve(__dirname, '../fixtures/oncall.yaml');

const isPage = (r: { body: unknown }) => (r.body as { summary?: string }).summary?.startsWith('Paged: incident #') === true;

describe.each(storeDrivers())('the PagerDuty stand-in answers Vigil’s pages with signed webhooks, as PagerDuty does, on $name', (driver) => {
  let connector: BotConnectorStandIn;
  let sandboxes: Sandboxes;
  let db: Db;
  let drop: () => Promise<void>;
  let now: Date;
  let t: TestApp;

  beforeAll(async () => {
    [connector, sandboxes] = await Promise.all([startBotConnector(), startSandboxes()]);
    ({ db, drop } = await driver.open());
  });
  afterAll(async () => {
    await Promise.all([connector.close(), sandboxes.close()]);
    await drop();
  });
  beforeEach(async () => {
    for (const s of [connector, ...sandboxes.all]) s.reset();
    await emptyTables(db);
    now = new Date('2026-11-24T02:00:00Z'); // Tuesday 03:00 in Amsterdam: Alex is primary, Isaiah next
    t = await startTestApp(
      {
        ...sandboxes.env,
        VIGIL_ONCALL_FILE: scheduleFile,
        PAGERDUTY_ENDPOINT: sandboxes.pagerDuty.url,
        PAGERDUTY_ROUTING_KEY: ROUTING_KEY,
        PAGERDUTY_WEBHOOK_SECRETS: SANDBOX_PAGERDUTY_WEBHOOK_SECRET,
      },
      { db, clock: () => now },
    );
    sandboxes.pagerDuty.subscribe(`${t.url}/api/pagerduty`, [SANDBOX_PAGERDUTY_WEBHOOK_SECRET]);
    await t.sendActivity(botInstalledInTeam(connector.url));
    await t.sendActivity({ ...personalMessage(connector.url, 'help'), from: { id: '29:AlexWilber', name: 'Alex Wilber', aadObjectId: ALEX } });
    await t.postIncident(demoIncident('brute-force-admin'));
    await t.app.enricher.idle();
    await t.app.pager!.tick();
    // Vigil's Events API trigger reached the stand-in, which opened its incident.
    await sandboxes.pagerDuty.waitFor('POST', '/v2/enqueue');
  });
  afterEach(() => t.close());

  const incidentKey = async () => (await db.query<{ incident_key: string }>('SELECT incident_key FROM pages')).rows[0]!.incident_key;
  const pageState = async () => (await db.query<{ state: string; acked_by: string | null; level: number }>('SELECT state, acked_by, level FROM pages')).rows[0];
  const inPagerDuty = async (ref: string, action: string, body: Record<string, unknown>) => {
    const res = await fetch(`${sandboxes.pagerDuty.url}/_control/incidents/${encodeURIComponent(ref)}/${action}`, { method: 'POST', body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { incident: { status: string }; delivery: { status: number; body: { status: string } } } };
  };

  it('acknowledged in PagerDuty: the stand-in sends a signed incident.acknowledged, the escalation stops and every page card names who took it', async () => {
    const dedupKey = await incidentKey();
    expect(sandboxes.pagerDuty.incidents()).toEqual([expect.objectContaining({ incidentKey: dedupKey, status: 'triggered', title: expect.stringContaining('#1041') })]);
    connector.reset();

    const ack = await inPagerDuty(dedupKey, 'acknowledge', { by: 'Megan Bowen' });
    expect(ack.status).toBe(200);
    // Vigil verified the signature and applied it.
    expect(ack.body.delivery).toMatchObject({ status: 202, body: { status: 'applied' } });
    const sent = sandboxes.pagerDuty.deliveries();
    expect(sent.map((d) => d.type)).toEqual(['incident.acknowledged']);
    expect(await pageState()).toMatchObject({ state: 'acknowledged', acked_by: 'pagerduty:Megan Bowen' });

    await t.app.pager!.tick();
    const redrawn = connector.requests('PUT', '/v3/conversations/:id/activities/:activityId').filter(isPage);
    expect(redrawn.length).toBeGreaterThan(0);
    for (const r of redrawn) expect(JSON.stringify(r.body)).toContain('Acknowledged in PagerDuty by Megan Bowen');
    // Vigil tells PagerDuty of the acknowledgement too; the stand-in's incident is already acknowledged, so no echo.
    await eventually('Vigil’s acknowledge event', () => sandboxes.pagerDuty.requests('POST', '/v2/enqueue').some((r) => (r.body as { event_action: string }).event_action === 'acknowledge'));
    await sandboxes.pagerDuty.delivered();
    expect(sandboxes.pagerDuty.deliveries()).toHaveLength(1);

    // Five minutes and an hour later: nobody else is paged.
    for (const later of [5 * 60_000 + 1000, 60 * 60_000]) {
      now = new Date(now.getTime() + later);
      await t.app.pager!.tick();
    }
    expect(connector.requests('POST', '/v3/conversations/:id/activities').filter(isPage)).toEqual([]);
    expect(await pageState()).toMatchObject({ level: 1 });
    expect((await db.query(`SELECT actor FROM audit WHERE action = 'page.acknowledged'`)).rows).toEqual([{ actor: 'pagerduty:Megan Bowen' }]);
  });

  it('resolved in PagerDuty: the page ends and every page card says who resolved it there, not that the incident was closed', async () => {
    connector.reset();
    const resolved = await inPagerDuty(await incidentKey(), 'resolve', { by: 'Megan Bowen' });
    expect(resolved.body.delivery).toMatchObject({ status: 202, body: { status: 'applied' } });
    expect(await pageState()).toMatchObject({ state: 'resolved' });
    await t.app.pager!.tick();
    const redrawn = connector.requests('PUT', '/v3/conversations/:id/activities/:activityId').filter(isPage);
    expect(redrawn.length).toBeGreaterThan(0);
    for (const r of redrawn) {
      expect(JSON.stringify(r.body)).toContain('Resolved in PagerDuty by Megan Bowen at 2026-11-24 02:00 UTC');
      expect(JSON.stringify(r.body)).not.toContain('the incident was closed');
    }
  });

  it('a webhook signed with another secret is refused and changes nothing; a reassignment reaches the audit trail; Vigil’s own resolve comes back and changes nothing', async () => {
    const dedupKey = await incidentKey();
    sandboxes.pagerDuty.subscribe(`${t.url}/api/pagerduty`, ['a-secret-vigil-does-not-know-0123']);
    const refused = await inPagerDuty(dedupKey, 'acknowledge', { by: 'Megan Bowen' });
    expect(refused.body.delivery.status).toBe(401);
    expect(await pageState()).toMatchObject({ state: 'open', acked_by: null });

    sandboxes.pagerDuty.subscribe(`${t.url}/api/pagerduty`, [SANDBOX_PAGERDUTY_WEBHOOK_SECRET]);
    connector.reset();
    const moved = await inPagerDuty(dedupKey, 'reassign', { by: 'Megan Bowen', to: 'Isaiah Langer' });
    expect(moved.body.delivery.status).toBe(202);
    expect((await db.query(`SELECT actor, details FROM audit WHERE action = 'page.reassigned'`)).rows).toEqual([
      { actor: 'pagerduty:Megan Bowen', details: { via: 'pagerduty', to: ['Isaiah Langer'] } },
    ]);
    // The page's cards say who holds it in PagerDuty now.
    await t.app.pager!.tick();
    const redrawn = connector.requests('PUT', '/v3/conversations/:id/activities/:activityId').filter(isPage);
    expect(redrawn.length).toBeGreaterThan(0);
    for (const r of redrawn) expect(JSON.stringify(r.body)).toContain('to Isaiah Langer in PagerDuty by Megan Bowen');

    // Closed in Sentinel: Vigil resolves in PagerDuty, whose incident.resolved (by the service) is a repeat.
    const closed = withProperties(demoIncident('brute-force-admin'), {
      status: 'Closed',
      classification: 'TruePositive',
      lastModifiedTimeUtc: new Date(Date.parse(demoIncident('brute-force-admin').object.properties.lastModifiedTimeUtc) + 600_000).toISOString(),
    });
    await t.postIncident(closed);
    await eventually('the page to be resolved', async () => (await pageState())?.state === 'resolved');
    await t.app.pager!.tick();
    await eventually('the incident to be resolved in PagerDuty', () => sandboxes.pagerDuty.incidents()[0]!.status === 'resolved');
    await sandboxes.pagerDuty.delivered();
    expect(sandboxes.pagerDuty.deliveries().at(-1)).toMatchObject({ type: 'incident.resolved', status: 202 });
    expect((await db.query(`SELECT actor FROM audit WHERE action = 'page.resolved'`)).rows).toEqual([{ actor: 'sentinel' }]);
  });
});
