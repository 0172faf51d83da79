import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { startPagerDuty } from '../../sandbox/pagerduty';
import { startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import { startStandIn, type StandIn } from '../../sandbox/stand-in';
import type { Db } from '../../src/store/db';
import { demoIncident, withProperties } from '../helpers/fixtures';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';
import { botInstalledInTeam, CHANNEL_ID, personalMessage } from '../helpers/teams-activities';
import { startTestApp, type TestApp } from '../helpers/test-app';

const MEGAN = '7faf8ab2-3d56-4244-b585-20c8a42ed2b8';
const ALEX = 'a1b2c3d4-0000-4000-8000-000000000020';
const ISAIAH = 'a1b2c3d4-0000-4000-8000-000000000023';
const ROUTING_KEY = 'r'.repeat(32);
const WEBHOOK_SECRET = 'page-webhook-secret-0123456789';
const scheduleFile = path.resolve(__dirname, '../fixtures/oncall.yaml');

/** A user who has spoken to Vigil, so paging knows their Teams id. */
const say = (serviceUrl: string, aadObjectId: string, name: string, text: string) => ({
  ...personalMessage(serviceUrl, text),
  from: { id: `29:${name.replace(/\s/g, '')}`, name, aadObjectId },
  conversation: { conversationType: 'personal', id: `a:chat-with-${name.replace(/\s/g, '')}` },
});

/** The user installed Vigil for themselves: Teams sends installationUpdate in their 1:1 chat. */
const installedInChat = (serviceUrl: string, aadObjectId: string, name: string) => ({
  ...botInstalledInTeam(serviceUrl),
  from: { id: `29:${name.replace(/\s/g, '')}`, name, aadObjectId },
  conversation: { conversationType: 'personal', id: `a:chat-with-${name.replace(/\s/g, '')}`, tenantId: 'b28fdbfd-2b78-4f93-b0f8-8881793f0f8f' },
  channelData: { tenant: { id: 'b28fdbfd-2b78-4f93-b0f8-8881793f0f8f' } },
});

const cardText = (a: Record<string, unknown>) => JSON.stringify(a.attachments ?? a.text);
const isPage = (r: { body: unknown }) => (r.body as { summary?: string }).summary?.startsWith('Paged: incident #') === true;

describe.each(storeDrivers())('on-call paging on $name', (driver) => {
  let connector: BotConnectorStandIn;
  let sandboxes: Sandboxes;
  let pagerDuty: StandIn;
  let webhook: StandIn;
  let db: Db;
  let drop: () => Promise<void>;
  let now: Date;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    [connector, sandboxes, pagerDuty, webhook] = await Promise.all([
      startBotConnector(),
      startSandboxes(),
      startPagerDuty(),
      startStandIn('webhook', [{ method: 'POST', path: '/hook', handle: () => ({ status: 204 }) }]),
    ]);
    ({ db, drop } = await driver.open());
  });
  afterAll(async () => {
    await Promise.all([connector.close(), sandboxes.close(), pagerDuty.close(), webhook.close()]);
    await drop();
  });
  beforeEach(async () => {
    for (const s of [connector, pagerDuty, webhook, ...sandboxes.all]) s.reset();
    await emptyTables(db);
    now = new Date('2026-11-24T02:00:00Z'); // Tuesday 03:00 in Amsterdam
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  const start = async () => {
    const app = await startTestApp(
      {
        ...sandboxes.env,
        VIGIL_ONCALL_FILE: scheduleFile,
        PAGERDUTY_ENDPOINT: pagerDuty.url,
        PAGERDUTY_ROUTING_KEY: ROUTING_KEY,
        VIGIL_PAGE_WEBHOOK_URL: `${webhook.url}/hook`,
        VIGIL_PAGE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      },
      { db, clock: () => now },
    );
    apps.push(app);
    return app;
  };
  const setUp = async (app: TestApp) => {
    await app.sendActivity(botInstalledInTeam(connector.url));
    // Alex has only talked to Vigil in a channel (Vigil must open a 1:1 chat); the others installed it.
    await app.sendActivity(say(connector.url, ALEX, 'Alex Wilber', 'help'));
    for (const [id, name] of [
      [ISAIAH, 'Isaiah Langer'],
      [MEGAN, 'Megan Bowen'],
    ] as const)
      await app.sendActivity(installedInChat(connector.url, id, name));
    connector.reset();
  };
  const pagesIn = (chat: (path: string) => boolean) => connector.requests('POST', '/v3/conversations/:id/activities').filter((r) => isPage(r) && chat(decodeURIComponent(r.path)));
  const toIsaiah = (path: string) => path.includes('chat-with-IsaiahLanger');
  const toAlex = (path: string) => !path.includes('chat-with-');

  it('pages the primary at 03:00, escalates to the secondary, and an ack stops it on every card', async () => {
    const app = await start();
    await setUp(app);
    await app.postIncident(demoIncident('brute-force-admin'));
    await app.app.enricher.idle();
    await app.app.pager!.tick();

    // Level 1: Alex is primary at 03:00 on the 24th. No personal chat yet: Vigil opened one.
    const created = connector.requests('POST', '/v3/conversations');
    expect(created.map((r) => r.body)).toEqual([expect.objectContaining({ members: [{ id: '29:AlexWilber' }], isGroup: false })]);
    const page = pagesIn(toAlex);
    expect(page).toHaveLength(1);
    expect(cardText(page[0]!.body as Record<string, unknown>)).toContain('Acknowledge');
    const alexChat = decodeURIComponent(page[0]!.path).split('/')[3]!;
    // Paged as High after hours at once; enrichment then assessed it Critical and the card says so.
    expect(cardText(connector.conversation(alexChat)[0]!.versions.at(-1)!)).toContain('🚨 Incident #1041 · Critical');
    // The @mention in the incident card's thread in the SOC channel (once the card is there).
    const inThread = () => connector.requests('POST', '/v3/conversations/:id/activities').find((r) => decodeURIComponent(r.path).startsWith(`/v3/conversations/${CHANNEL_ID};messageid=`));
    for (let waited = 0; !inThread() && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    const mention = inThread();
    expect((mention!.body as { text: string }).text).toMatch(/^<at>Alex Wilber<\/at>: you are paged for incident #1041/);
    expect((mention!.body as { entities: unknown[] }).entities).toEqual([{ type: 'mention', text: '<at>Alex Wilber</at>', mentioned: { id: '29:AlexWilber', name: 'Alex Wilber' } }]);
    // PagerDuty and the signed webhook hear about it too.
    expect(pagerDuty.requests('POST', '/v2/enqueue').map((r) => (r.body as { event_action: string }).event_action)).toEqual(['trigger']);
    const [hook] = webhook.requests('POST', '/hook');
    const raw = JSON.stringify(hook!.body);
    expect(hook!.headers['x-vigil-signature']).toBe(`sha256=${crypto.createHmac('sha256', WEBHOOK_SECRET).update(raw).digest('hex')}`);

    // Five minutes without an ack: the secondary (Isaiah) is paged and Alex's card says so.
    now = new Date(now.getTime() + 5 * 60_000 + 1000);
    await app.app.pager!.tick();
    const isaiahPage = pagesIn(toIsaiah);
    expect(isaiahPage).toHaveLength(1);
    expect(cardText(isaiahPage[0]!.body as Record<string, unknown>)).toContain('L1 Alex Wilber → L2 Isaiah Langer');
    const alexCard = connector.conversation(alexChat)[0]!;
    expect(cardText(alexCard.versions.at(-1)!)).toContain('Escalated to level 2: Isaiah Langer');

    // Isaiah clicks Acknowledge: the invoke answers with the updated card at once.
    const pageId = (await db.query<{ id: number }>('SELECT id FROM pages')).rows[0]!.id;
    const invoke = await app.sendActivity({
      ...say(connector.url, ISAIAH, 'Isaiah Langer', ''),
      type: 'invoke',
      name: 'adaptiveCard/action',
      value: { action: { type: 'Action.Execute', verb: 'page.ack', data: { page: String(pageId) } }, trigger: 'manual' },
    });
    expect(invoke.status).toBe(200);
    expect(invoke.body).toContain('Acknowledged by Isaiah Langer');
    await app.app.pager!.tick();
    expect(cardText(connector.conversation(alexChat)[0]!.versions.at(-1)!)).toContain('Acknowledged by Isaiah Langer');
    expect(cardText(connector.conversation('a:chat-with-IsaiahLanger')[0]!.versions.at(-1)!)).not.toContain('page.ack');
    expect(pagerDuty.requests('POST', '/v2/enqueue').map((r) => (r.body as { event_action: string }).event_action)).toEqual(['trigger', 'acknowledge']);

    // Nobody else is paged later.
    const before = connector.requests('POST').length;
    now = new Date(now.getTime() + 60 * 60_000);
    await app.app.pager!.tick();
    expect(connector.requests('POST')).toHaveLength(before);
    const audit = (await db.query<{ action: string }>(`SELECT action FROM audit WHERE action LIKE 'page.%' ORDER BY id`)).rows.map((r) => r.action);
    expect(audit).toEqual(expect.arrayContaining(['page.opened', 'page.notified', 'page.escalated', 'page.acknowledged']));
  });

  it('does not page for a High incident at 11:00 on a weekday, and ack in chat answers plainly', async () => {
    now = new Date('2026-11-24T10:00:00Z');
    const app = await start();
    await setUp(app);
    await app.postIncident(withProperties(demoIncident('unfamiliar-signin'), { severity: 'High' }));
    await app.app.enricher.idle();
    await app.app.pager!.tick();
    expect(await db.query('SELECT * FROM pages')).toMatchObject({ rowCount: 0 });
    await app.sendActivity(say(connector.url, MEGAN, 'Megan Bowen', 'ack 1043'));
    const [reply] = await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo');
    expect((reply!.body as { text: string }).text).toBe('Incident #1043 has not been paged.');
  });

  it('answers oncall, pages by hand with page <n>, and ack <n> stops the escalation', async () => {
    now = new Date('2026-11-24T10:00:00Z'); // business hours: the Medium incident will not page by itself
    const app = await start();
    await setUp(app);
    await app.sendActivity(say(connector.url, MEGAN, 'Megan Bowen', 'oncall'));
    const [oncall] = await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo');
    // 11:00 on the 24th: Megan took primary over at 09:00; Isaiah has the secondary week.
    expect((oncall!.body as { text: string }).text).toMatch(
      /\*\*L1\*\* Megan Bowen \(primary, 5 min\) · then Alex Wilber[\s\S]*\*\*L2\*\* Isaiah Langer \(secondary, 10 min\) · stays on[\s\S]*\*\*L3\*\* the SOC channel/,
    );
    // Times in the schedule's own zone, and no object id anywhere.
    expect((oncall!.body as { text: string }).text).toMatch(/Next hand-off: primary at Wed 25 Nov 09:00 \(Europe\/Amsterdam\)/);
    expect((oncall!.body as { text: string }).text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    connector.reset();

    await app.postIncident(demoIncident('powershell-web-01'));
    await app.app.enricher.idle();
    await app.app.pager!.tick();
    expect((await db.query('SELECT * FROM pages')).rowCount).toBe(0);
    await app.sendActivity(say(connector.url, ALEX, 'Alex Wilber', 'page 1042'));
    await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo');
    expect(connector.requests('POST', '/v3/conversations/:id/activities/:replyTo').map((r) => (r.body as { text: string }).text)).toContain('Paging the on-call chain for incident #1042.');
    // Megan is primary at 11:00 and has a chat with Vigil: the page goes there, and only there.
    expect(pagesIn(() => true).map((r) => [decodeURIComponent(r.path).split('/')[3], (r.body as { summary: string }).summary])).toEqual([['a:chat-with-MeganBowen', 'Paged: incident #1042']]);

    await app.sendActivity(say(connector.url, MEGAN, 'Megan Bowen', 'ack 1042'));
    await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo', 2);
    expect(connector.requests('POST', '/v3/conversations/:id/activities/:replyTo').map((r) => (r.body as { text: string }).text)).toContain('Acknowledged incident #1042. Escalation stopped.');
    now = new Date(now.getTime() + 30 * 60_000);
    await app.app.pager!.tick();
    expect(pagesIn(toIsaiah)).toHaveLength(0);
    const megansCard = connector.conversation('a:chat-with-MeganBowen').find((a) => JSON.stringify(a.versions[0]).includes('#1042'))!;
    expect(cardText(megansCard.versions.at(-1)!)).toContain('Acknowledged by Megan Bowen');
  });

  it('delivers a page card whose send fails with 503 three times, once, paced and retried like every card', async () => {
    now = new Date('2026-11-24T10:00:00Z');
    const app = await start();
    await setUp(app);
    await app.postIncident(demoIncident('powershell-web-01'));
    await app.app.enricher.idle();
    await app.app.outbox.idle();
    const megansChat = `/v3/conversations/${encodeURIComponent('a:chat-with-MeganBowen')}/activities`;
    connector.set({ fail: { count: 3, status: 503, method: 'POST', path: megansChat } });
    await app.sendActivity(say(connector.url, ALEX, 'Alex Wilber', 'page 1042'));
    const tries = await connector.waitFor('POST', megansChat, 4, 10_000);
    expect(tries.every(isPage)).toBe(true);
    const delivered = () => connector.conversation('a:chat-with-MeganBowen').filter((a) => JSON.stringify(a.versions[0]).includes('#1042'));
    for (let waited = 0; delivered().length === 0 && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(delivered()).toHaveLength(1);
    // Every try was counted against Megan's chat in the shared send budget, and the notice is done.
    const counted = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM teams_sends WHERE key = 'conversation:a:chat-with-MeganBowen'`);
    expect(counted.rows[0]!.n).toBe(4);
    await app.app.pager!.tick();
    expect(connector.requests('POST', megansChat)).toHaveLength(4);
    const notice = await db.query<{ attempts: number; activity_id: string }>(`SELECT attempts, activity_id FROM page_notices WHERE channel = 'teams'`);
    expect(notice.rows).toEqual([{ attempts: 0, activity_id: delivered()[0]!.id }]);
  });

  it('refuses to start with a broken schedule', async () => {
    const file = path.join(os.tmpdir(), `oncall-broken-${process.pid}.yaml`);
    fs.writeFileSync(file, fs.readFileSync(scheduleFile, 'utf8').replace('timeZone: Europe/Amsterdam', 'timeZone: Europe/Atlantis'));
    await expect(startTestApp({ VIGIL_ONCALL_FILE: file }, { db })).rejects.toThrow(/line 2: timeZone: must be an IANA time zone/);
    fs.rmSync(file);
  });

  it('survives a restart mid-escalation and never sends a page twice with two processes', async () => {
    const first = await start();
    await setUp(first);
    await first.postIncident(demoIncident('brute-force-admin'));
    await first.app.enricher.idle();
    await first.app.pager!.tick();
    await first.close();
    apps.splice(apps.indexOf(first), 1);

    // Two processes on one database, both ticking when the level-1 wait has passed.
    const [a, b] = await Promise.all([start(), start()]);
    now = new Date(now.getTime() + 5 * 60_000 + 1000);
    await Promise.all([a.app.pager!.tick(), b.app.pager!.tick(), a.app.pager!.tick(), b.app.pager!.tick()]);
    expect(connector.requests('POST', '/v3/conversations')).toHaveLength(1); // Alex's chat, opened once, before the restart
    expect(pagesIn(toAlex)).toHaveLength(1);
    expect(pagesIn(toIsaiah)).toHaveLength(1);
    expect(pagerDuty.requests('POST', '/v2/enqueue')).toHaveLength(1);
  });

  it('resolves the page everywhere when Sentinel closes the incident', async () => {
    const app = await start();
    await setUp(app);
    await app.postIncident(demoIncident('brute-force-admin'));
    await app.app.enricher.idle();
    await app.app.pager!.tick();
    await app.postIncident(withProperties(demoIncident('brute-force-admin'), { status: 'Closed', classification: 'TruePositive', lastModifiedTimeUtc: '2026-11-24T03:00:00Z' }));
    // The webhook answers before the paging decision is made; wait for it.
    const state = async () => (await db.query<{ state: string }>('SELECT state FROM pages')).rows[0]!.state;
    for (let waited = 0; (await state()) !== 'resolved' && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(await state()).toBe('resolved');
    await app.app.pager!.tick();
    expect(pagerDuty.requests('POST', '/v2/enqueue').map((r) => (r.body as { event_action: string }).event_action)).toEqual(['trigger', 'resolve']);
    // The page card's redraw (the incident card's, for the close, may come after it).
    const card = connector
      .requests('PUT')
      .filter((r) => (r.body as { summary?: string }).summary?.startsWith('Paged: incident #'))
      .at(-1)!;
    expect(cardText(card.body as Record<string, unknown>)).toContain('Resolved: the incident was closed');
  });

  it('hands the shift over in the SOC channel at the rotation hand-off: one summary, however often two replicas look', async () => {
    const [a, b] = [await start(), await start()];
    await setUp(a);
    await a.postIncident(demoIncident('brute-force-admin'));
    await a.app.outbox.idle();
    connector.reset();
    // 08:59 in Amsterdam: no hand-off in the last two hours, nothing is sent.
    now = new Date('2026-11-24T07:59:00Z');
    expect(await a.app.handoffs!.check()).toBe(0);
    // 09:01: the daily hand-off. Both replicas look, twice.
    now = new Date('2026-11-24T08:01:00Z');
    for (const app of [a, b, a, b]) expect(await app.app.handoffs!.check()).toBe(1);
    await Promise.all([a.app.jobs.idle(), b.app.jobs.idle()]);
    const summaries = connector.requests('POST', '/v3/conversations/:id/activities').filter((r) => (r.body as { summary?: string }).summary === 'Shift hand-off');
    expect(summaries).toHaveLength(1);
    expect(decodeURIComponent(summaries[0]!.path)).toBe(`/v3/conversations/${CHANNEL_ID}/activities`);
    const text = cardText(summaries[0]!.body as Record<string, unknown>);
    expect(text).toContain('Shift hand-off');
    expect(text).toContain('Came in (1)');
    expect(text).toContain('Multiple failed sign-ins followed by success for a Global Administrator');
    expect(text).toContain('On call next: L1 Megan Bowen → L2 Isaiah Langer → L3 the SOC channel');
    expect(text).toContain('Mon 23 Nov 09:00 (Europe/Amsterdam) → Tue 24 Nov 09:00 (Europe/Amsterdam)');
  });
});
