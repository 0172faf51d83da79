import path from 'node:path';
import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { sendPagerDutyWebhook } from '../../sandbox/pagerduty-webhooks';
import { startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import type { Db } from '../../src/store/db';
import { eventually } from '../helpers/actions-setup';
import { demoIncident, withProperties } from '../helpers/fixtures';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';
import { botInstalledInTeam, personalMessage } from '../helpers/teams-activities';
import { startTestApp, type TestApp } from '../helpers/test-app';

const ALEX = 'a1b2c3d4-0000-4000-8000-000000000020';
const ROUTING_KEY = 'r'.repeat(32);
const OLD_SECRET = 'pagerduty-old-secret-0123456789';
const NEW_SECRET = 'pagerduty-new-secret-9876543210';
const scheduleFile = path.resolve(__dirname, '../fixtures/oncall.yaml');

const cardText = (a: Record<string, unknown>) => JSON.stringify(a.attachments ?? a.text);
const isPage = (r: { body: unknown }) => (r.body as { summary?: string }).summary?.startsWith('Paged: incident #') === true;

describe.each(storeDrivers())('PagerDuty webhooks acknowledge and resolve pages on $name', (driver) => {
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
        // Mid-rotation: both secrets are accepted.
        PAGERDUTY_WEBHOOK_SECRETS: `${OLD_SECRET},${NEW_SECRET}`,
      },
      { db, clock: () => now },
    );
    await t.sendActivity(botInstalledInTeam(connector.url));
    await t.sendActivity({ ...personalMessage(connector.url, 'help'), from: { id: '29:AlexWilber', name: 'Alex Wilber', aadObjectId: ALEX } });
    await t.postIncident(demoIncident('brute-force-admin'));
    await t.app.enricher.idle();
    await t.app.pager!.tick();
    connector.reset();
  });
  afterEach(() => t.close());

  const endpoint = () => `${t.url}/api/pagerduty`;
  const incidentKey = async () => (await db.query<{ incident_key: string }>('SELECT incident_key FROM pages')).rows[0]!.incident_key;
  const pageState = async () => (await db.query<{ state: string; acked_by: string | null }>('SELECT state, acked_by FROM pages')).rows[0];
  const pageCards = () => connector.requests().filter((r) => ['PUT', 'POST'].includes(r.method) && isPage(r));

  it('a signed incident.acknowledged stops the escalation and every page card names who took it in PagerDuty', async () => {
    const dedupKey = await incidentKey();
    expect(await pageState()).toMatchObject({ state: 'open' });
    const ack = await sendPagerDutyWebhook(endpoint(), 'incident.acknowledged', { dedupKey, agent: { id: 'PABC123', name: 'Alex Wilber' }, secrets: [NEW_SECRET] });
    expect(ack.status).toBe(202);
    expect(await pageState()).toMatchObject({ state: 'acknowledged', acked_by: 'pagerduty:Alex Wilber' });
    // A repeated delivery (PagerDuty retries) changes nothing.
    expect((await sendPagerDutyWebhook(endpoint(), 'incident.acknowledged', { dedupKey, agent: { id: 'PXYZ999', name: 'Someone Else' }, secrets: [OLD_SECRET] })).status).toBe(202);
    await t.app.pager!.tick();
    const redrawn = connector.requests('PUT', '/v3/conversations/:id/activities/:activityId');
    expect(redrawn.length).toBeGreaterThan(0);
    for (const r of redrawn) expect(cardText(r.body as Record<string, unknown>)).toContain('Acknowledged in PagerDuty by Alex Wilber');
    // Five minutes and an hour later: nobody else is paged.
    for (const later of [5 * 60_000 + 1000, 60 * 60_000]) {
      now = new Date(now.getTime() + later);
      await t.app.pager!.tick();
    }
    expect(connector.requests('POST', '/v3/conversations/:id/activities').filter(isPage)).toEqual([]);
    const audit = (await db.query<{ actor: string; action: string }>(`SELECT actor, action FROM audit WHERE action = 'page.acknowledged'`)).rows;
    expect(audit).toEqual([{ actor: 'pagerduty:Alex Wilber', action: 'page.acknowledged' }]);
  });

  it('an unsigned or wrongly signed webhook gets 401 and changes nothing', async () => {
    const dedupKey = await incidentKey();
    const unsigned = await sendPagerDutyWebhook(endpoint(), 'incident.acknowledged', { dedupKey, secrets: [NEW_SECRET], signature: null });
    const wrong = await sendPagerDutyWebhook(endpoint(), 'incident.resolved', { dedupKey, secrets: ['not-the-secret-at-all-0123'] });
    expect([unsigned.status, wrong.status]).toEqual([401, 401]);
    expect(await pageState()).toMatchObject({ state: 'open', acked_by: null });
    await t.app.pager!.tick();
    expect(pageCards()).toEqual([]);
  });

  it('a reopened incident pages again; a page resolved in PagerDuty does not come back on its own', async () => {
    const pagesToAlex = () => connector.requests('POST', '/v3/conversations/:id/activities').filter((r) => isPage(r) && !decodeURIComponent(r.path).includes('chat-with-'));
    const at = (minutes: number) => new Date(Date.parse(demoIncident('brute-force-admin').object.properties.lastModifiedTimeUtc) + minutes * 60_000).toISOString();
    const closed = withProperties(demoIncident('brute-force-admin'), { status: 'Closed', classification: 'TruePositive', lastModifiedTimeUtc: at(10) });
    expect((await t.postIncident(closed)).body.outcome).toBe('updated');
    await eventually('the page to be resolved', async () => (await pageState())?.state === 'resolved');
    await t.app.pager!.tick();
    expect(pagesToAlex()).toEqual([]);
    // Reopened in Sentinel: Alex is paged again, with a new card.
    expect((await t.postIncident(withProperties(demoIncident('brute-force-admin'), { status: 'Active', lastModifiedTimeUtc: at(20) }))).body.outcome).toBe('updated');
    await eventually('the page to open again', async () => (await pageState())?.state === 'open');
    await t.app.pager!.tick();
    expect(pagesToAlex()).toHaveLength(1);
    expect((await db.query<{ reason: string }>('SELECT reason FROM pages')).rows[0]!.reason).toMatch(/\(reopened\)$/);
    // Resolved in PagerDuty this time, while the incident stays open: a later change pages nobody.
    const dedupKey = await incidentKey();
    expect((await sendPagerDutyWebhook(endpoint(), 'incident.resolved', { dedupKey, agent: { id: 'PABC123', name: 'Alex Wilber' }, secrets: [NEW_SECRET] })).status).toBe(202);
    expect(await pageState()).toMatchObject({ state: 'resolved' });
    await t.postIncident(withProperties(demoIncident('brute-force-admin'), { status: 'Active', title: 'Renamed', lastModifiedTimeUtc: at(30) }));
    await t.app.enricher.idle();
    await t.app.pager!.tick();
    expect(await pageState()).toMatchObject({ state: 'resolved' });
    expect(pagesToAlex()).toHaveLength(1);
    const audit = (await db.query<{ actor: string; action: string }>(`SELECT actor, action FROM audit WHERE action IN ('page.resolved', 'page.reopened') ORDER BY id`)).rows;
    expect(audit).toEqual([
      { actor: 'sentinel', action: 'page.resolved' },
      { actor: 'policy', action: 'page.reopened' },
      { actor: 'pagerduty:Alex Wilber', action: 'page.resolved' },
    ]);
  });

  it('Snooze on the page card holds the escalation for the chosen time, Reassign pages the next level now; both audited', async () => {
    const pageId = (await db.query<{ id: number }>('SELECT id FROM pages')).rows[0]!.id;
    const clickAsAlex = (verb: string, data: Record<string, unknown>) =>
      t.sendActivity({
        ...personalMessage(connector.url, ''),
        from: { id: '29:AlexWilber', name: 'Alex Wilber', aadObjectId: ALEX },
        conversation: { conversationType: 'personal', id: 'a:chat-with-AlexWilber' },
        type: 'invoke',
        name: 'adaptiveCard/action',
        value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
      });
    const snoozed = await clickAsAlex('page.snooze', { page: String(pageId), snoozeMinutes: '30' });
    expect(snoozed.status).toBe(200);
    expect(snoozed.body).toContain('Waiting for acknowledgement · next level 2026-11-24 02:30 UTC');
    expect((await clickAsAlex('page.snooze', { page: String(pageId), snoozeMinutes: '600' })).body).toContain('Snooze for 15, 30, 60 minutes.');
    // Five minutes would have escalated; the snooze holds it.
    now = new Date(now.getTime() + 5 * 60_000 + 1000);
    await t.app.pager!.tick();
    expect(await pageState()).toMatchObject({ state: 'open' });
    expect((await db.query<{ level: number }>('SELECT level FROM pages')).rows[0]!.level).toBe(1);
    // Reassign: the next level (Isaiah) is paged now.
    expect((await clickAsAlex('page.reassign', { page: String(pageId) })).status).toBe(200);
    await t.app.pager!.tick();
    expect((await db.query<{ level: number }>('SELECT level FROM pages')).rows[0]!.level).toBe(2);
    const audit = (
      await db.query<{ actor: string; action: string; details: Record<string, unknown> }>(`SELECT actor, action, details FROM audit WHERE action IN ('page.snoozed', 'page.reassigned') ORDER BY id`)
    ).rows;
    expect(audit).toEqual([
      { actor: ALEX, action: 'page.snoozed', details: { level: 1, minutes: 30 } },
      { actor: ALEX, action: 'page.reassigned', details: { level: 1, to: 'next level' } },
    ]);
  });

  it('a signed incident.resolved resolves the page', async () => {
    const dedupKey = await incidentKey();
    expect((await sendPagerDutyWebhook(endpoint(), 'incident.resolved', { dedupKey, secrets: [OLD_SECRET] })).status).toBe(202);
    expect(await pageState()).toMatchObject({ state: 'resolved' });
    // A reassignment in PagerDuty is on Vigil's audit trail.
    const moved = await sendPagerDutyWebhook(endpoint(), 'incident.reassigned', {
      dedupKey,
      agent: { id: 'PABC123', name: 'Alex Wilber' },
      assignees: [{ id: 'PMEG456', name: 'Megan Bowen' }],
      secrets: [NEW_SECRET],
    });
    expect(moved.status).toBe(202);
    expect((await db.query(`SELECT actor, details FROM audit WHERE action = 'page.reassigned'`)).rows).toEqual([
      { actor: 'pagerduty:Alex Wilber', details: { via: 'pagerduty', to: ['Megan Bowen'] } },
    ]);
    // An event for an incident Vigil never paged is taken and ignored.
    expect((await sendPagerDutyWebhook(endpoint(), 'incident.acknowledged', { dedupKey: 'not-a-vigil-key', secrets: [NEW_SECRET] })).status).toBe(202);
  });
});
