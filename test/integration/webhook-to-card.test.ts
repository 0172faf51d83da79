import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { demoIncident, withProperties } from '../helpers/fixtures';
import { botInstalledInTeam, botRemovedFromTeam, CHANNEL_ID } from '../helpers/teams-activities';
import { openTestDb, resetDb, startTestApp, type TestApp } from '../helpers/test-app';
import type { Db } from '../../src/store/db';

const cardText = (activity: Record<string, unknown>) => JSON.stringify((activity.attachments as Array<{ content: unknown }>)[0]!.content);

describe('a Sentinel incident becomes one card in the installed channel', () => {
  let connector: BotConnectorStandIn;
  let t: TestApp;
  let db: Db;

  beforeAll(async () => {
    connector = await startBotConnector();
    db = await openTestDb();
  });
  afterAll(async () => {
    await connector.close();
    await db.close();
  });
  beforeEach(async () => {
    connector.reset();
    await resetDb(db);
    t = await startTestApp({}, { db });
    expect((await t.sendActivity(botInstalledInTeam(connector.url))).status).toBeLessThan(300);
  });
  afterEach(async () => {
    await t.close();
  });

  const posts = () => connector.requests('POST', '/v3/conversations/:id/activities');
  const updates = () => connector.requests('PUT', '/v3/conversations/:id/activities/:activityId');

  it('posts exactly one card carrying the title, number and severity', async () => {
    const res = await t.postIncident(demoIncident('brute-force-admin'));
    expect(res).toEqual({ status: 202, body: { outcome: 'created', incident: expect.objectContaining({ number: 1041 }) } });
    const [post] = await connector.waitFor('POST', '/v3/conversations/:id/activities');
    await t.app.outbox.idle();
    expect(posts()).toHaveLength(1);
    expect(post!.path).toBe(`/v3/conversations/${encodeURIComponent(CHANNEL_ID)}/activities`);
    const body = post!.body as Record<string, any>;
    expect(body.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    const text = cardText(body);
    expect(text).toContain('Multiple failed sign-ins followed by success for a Global Administrator');
    expect(text).toContain('Incident #1041');
    expect(text).toContain('HIGH');
    expect(text).toContain('203.0.113.66');
    expect(text).toContain('admin.jane@contoso.example');
  });

  it('updates that same activity when the incident changes, and never posts it twice', async () => {
    await t.postIncident(demoIncident('brute-force-admin'));
    const [post] = await connector.waitFor('POST', '/v3/conversations/:id/activities');
    const update = await t.postIncident(demoIncident('brute-force-admin.update'));
    expect(update.body.outcome).toBe('updated');
    const [put] = await connector.waitFor('PUT', '/v3/conversations/:id/activities/:activityId');
    await t.app.outbox.idle();
    const shown = connector.conversation(CHANNEL_ID);
    expect(shown).toHaveLength(1);
    expect(put!.path).toContain(encodeURIComponent(shown[0]!.id));
    expect(posts()).toHaveLength(1);
    expect(post).toBeDefined();
    expect(cardText(shown[0]!.versions.at(-1)!)).toContain('Megan Bowen');
    expect(cardText(shown[0]!.versions.at(-1)!)).toContain('Active');
  });

  it('folds changes that come quicker than the update spacing into one update', async () => {
    await t.close();
    t = await startTestApp({}, { db, outbox: { pollMs: 50, baseBackoffMs: 20, maxBackoffMs: 200, updateSpacingMs: 2000 } });
    await t.postIncident(demoIncident('brute-force-admin'));
    await connector.waitFor('POST', '/v3/conversations/:id/activities');
    const change = (status: string, minute: number, owner: string) =>
      withProperties(demoIncident('brute-force-admin'), { status, lastModifiedTimeUtc: `2026-11-24T02:${minute}:00Z`, owner: { assignedTo: owner } });
    await t.postIncident(change('Active', 10, 'First Owner'));
    await connector.waitFor('PUT', '/v3/conversations/:id/activities/:activityId', 1);
    // Both arrive within the 2 s spacing after the first update: one more update, the newest.
    await t.postIncident(change('Active', 11, 'Second Owner'));
    await t.postIncident(change('Active', 12, 'Third Owner'));
    await connector.waitFor('PUT', '/v3/conversations/:id/activities/:activityId', 2, 6000);
    await t.app.outbox.idle();
    const puts = updates();
    expect(puts).toHaveLength(2);
    expect(puts[1]!.at - puts[0]!.at).toBeGreaterThanOrEqual(1990);
    expect(cardText(puts[1]!.body as Record<string, unknown>)).toContain('Third Owner');
  });

  it('does nothing for a replay or a stale update', async () => {
    await t.postIncident(demoIncident('brute-force-admin.update'));
    await connector.waitFor('POST', '/v3/conversations/:id/activities');
    await t.app.outbox.idle();
    expect((await t.postIncident(demoIncident('brute-force-admin.update'))).body.outcome).toBe('unchanged');
    expect((await t.postIncident(demoIncident('brute-force-admin'))).body.outcome).toBe('stale');
    await t.app.outbox.idle();
    expect(posts()).toHaveLength(1);
    expect(updates()).toHaveLength(0);
  });

  it.each([
    ['no secret', { secret: null }, 401],
    ['a wrong secret', { secret: 'not-the-secret-at-all' }, 401],
    ['a body over 1 MB', { raw: JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }) }, 413],
    ['a body that is not JSON', { raw: '{"object": ' }, 400],
    ['an empty body', { raw: '' }, 400],
  ])('refuses %s and sends nothing', async (_name, options, status) => {
    const res = await t.postIncident(demoIncident('brute-force-admin'), options);
    expect(res.status).toBe(status);
    expect(res.body.error.message).toEqual(expect.any(String));
    await t.app.outbox.idle();
    expect(posts()).toHaveLength(0);
    expect((await t.db.query('SELECT count(*)::int AS n FROM incidents')).rows[0]).toEqual({ n: 0 });
  });

  it('refuses a schema-invalid incident naming the bad field, and stores nothing', async () => {
    const res = await t.postIncident(withProperties(demoIncident('brute-force-admin'), { severity: 'Apocalyptic' }));
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/object\.properties\.severity: must be one of High, Medium, Low, Informational/);
    const noTitle = await t.postIncident(withProperties(demoIncident('brute-force-admin'), { title: undefined }));
    expect(noTitle.status).toBe(400);
    expect(noTitle.body.error.message).toMatch(/object\.properties\.title/);
    await t.app.outbox.idle();
    expect(posts()).toHaveLength(0);
    expect((await t.db.query('SELECT count(*)::int AS n FROM incidents')).rows[0]).toEqual({ n: 0 });
  });

  it('keeps the card through throttling: 429 with Retry-After, then 502, then delivered once', async () => {
    connector.set({ throttle: { count: 1, retryAfterSeconds: 0.2 } });
    await t.postIncident(demoIncident('brute-force-admin'));
    await connector.waitFor('POST', '/v3/conversations/:id/activities', 1);
    connector.set({ fail: { count: 1, status: 502 } });
    await connector.waitFor('POST', '/v3/conversations/:id/activities', 3, 5000);
    await t.app.outbox.idle();
    const attempts = posts();
    expect(attempts).toHaveLength(3);
    // The second attempt waited out Retry-After (200 ms).
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(190);
    expect(connector.conversation(CHANNEL_ID)).toHaveLength(1);
  });

  it('keeps the card while the connector does not answer, and delivers it once it does', async () => {
    await t.close();
    t = await startTestApp({ VIGIL_UPSTREAM_TIMEOUT_MS: '100' }, { db });
    await t.sendActivity(botInstalledInTeam(connector.url));
    connector.set({ hang: true });
    await t.postIncident(demoIncident('powershell-web-01'));
    await connector.waitFor('POST', '/v3/conversations/:id/activities', 1);
    connector.set({ hang: false });
    await connector.waitFor('POST', '/v3/conversations/:id/activities', 2, 5000);
    await t.app.outbox.idle();
    expect(connector.conversation(CHANNEL_ID)).toHaveLength(1);
    expect(cardText(connector.conversation(CHANNEL_ID)[0]!.versions[0]!)).toContain('web-01');
  });

  it("keeps a storm within Teams' per-conversation limits and loses nothing", async () => {
    const severities = ['Low', 'Informational', 'Medium', 'High'];
    for (let n = 0; n < 12; n++) {
      const body = withProperties(demoIncident('unfamiliar-signin'), { incidentNumber: 2000 + n, severity: severities[n % 4] });
      body.object.id = body.object.id.replace(/[^/]+$/, `storm-${n}`);
      expect((await t.postIncident(body)).status).toBe(202);
    }
    await connector.waitFor('POST', '/v3/conversations/:id/activities', 12, 10_000);
    await t.app.outbox.idle();
    const sent = posts().map((p) => p.at);
    expect(connector.conversation(CHANNEL_ID)).toHaveLength(12);
    // Never more than 7 in any second, nor 8 in any two (the documented limits).
    for (const at of sent) {
      expect(sent.filter((x) => x >= at && x < at + 1000).length).toBeLessThanOrEqual(7);
      expect(sent.filter((x) => x >= at && x < at + 2000).length).toBeLessThanOrEqual(8);
    }
  });

  it('stops posting to a team the bot was removed from', async () => {
    expect((await t.sendActivity(botRemovedFromTeam(connector.url))).status).toBeLessThan(300);
    await t.postIncident(demoIncident('brute-force-admin'));
    await t.app.outbox.idle();
    expect(posts()).toHaveLength(0);
  });
});
