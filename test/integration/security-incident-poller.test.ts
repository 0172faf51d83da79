import { Writable } from 'node:stream';
import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { startLogAnalytics, type LogAnalyticsStandIn } from '../../sandbox/loganalytics';
import { SECURITY_INCIDENT_CURSOR } from '../../src/ingest/security-incident-poller';
import { createLogger } from '../../src/logger';
import type { Db } from '../../src/store/db';
import { getIncident } from '../../src/store/incident-repository';
import { getIngestCursor } from '../../src/store/ingest-cursor-repository';
import { demoIncident } from '../helpers/fixtures';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';
import { botInstalledInTeam, CHANNEL_ID } from '../helpers/teams-activities';
import { startTestApp, type TestApp } from '../helpers/test-app';

const cardText = (activity: Record<string, unknown>) => JSON.stringify((activity.attachments as Array<{ content: unknown }>)[0]!.content);
const QUERY = '/v1/workspaces/:id/query';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A SecurityIncident row that is fine in every column, for tests to spoil one of them. */
const validRow = (name: string, number: number, changes: Record<string, unknown> = {}) => ({
  IncidentName: name,
  IncidentNumber: number,
  Title: `Polled incident ${number}`,
  Description: '',
  Severity: 'Medium',
  Status: 'New',
  Classification: '',
  Owner: { objectId: null, email: null, assignedTo: null, userPrincipalName: null },
  Labels: [],
  CreatedTime: '2026-11-29T10:00:00Z',
  LastModifiedTime: '2026-11-29T10:00:05Z',
  AdditionalData: { alertsCount: 0 },
  RelatedAnalyticRuleIds: [],
  AlertIds: [],
  ...changes,
});

describe.each(storeDrivers())('the SecurityIncident poller on $name', (driver) => {
  let connector: BotConnectorStandIn;
  let la: LogAnalyticsStandIn;
  let db: Db;
  let drop: () => Promise<void>;
  let t: TestApp;
  let logs: string[];

  /** Vigil polling the stand-in; the timer is an hour, so the tests decide when it polls (`pollNow`). */
  const start = async (env: Record<string, string> = {}, intervalMs = 3_600_000, pageSize?: number) => {
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (logs.push(chunk.toString()), done()) });
    const app = await startTestApp(
      { LOGS_ENDPOINT: la.url, VIGIL_POLL_SECURITY_INCIDENTS: 'on', VIGIL_KQL_TIMEOUT_SECONDS: '1', ...env },
      { db, logger: createLogger('warn', sink), poller: { intervalMs, pageSize } },
    );
    // The first poll runs as the app starts; the tests' rows come after it.
    await app.app.poller!.pollNow();
    return app;
  };
  const poll = () => t.app.poller!.pollNow();
  const posts = () => connector.requests('POST', '/v3/conversations/:id/activities');
  const updates = () => connector.requests('PUT', '/v3/conversations/:id/activities/:activityId');
  const queries = (table: 'SecurityIncident' | 'SecurityAlert') =>
    la.requests('POST', QUERY).filter((r) => (r.body as { query: string }).query.includes(table === 'SecurityIncident' ? 'ingestion_time()' : 'SystemAlertId in ('));
  /** Once the card and its enrichment updates are out, what the connector saw so far. */
  const settled = async () => {
    await t.app.enricher.idle();
    await t.app.outbox.idle();
    return { posts: posts().length, updates: updates().length };
  };
  const cursor = async () => (await getIngestCursor(db, SECURITY_INCIDENT_CURSOR))!.position.toISOString();

  beforeAll(async () => {
    connector = await startBotConnector();
    la = await startLogAnalytics();
    ({ db, drop } = await driver.open());
  });
  afterAll(async () => {
    await connector.close();
    await la.close();
    await drop();
  });
  beforeEach(async () => {
    connector.reset();
    la.reset();
    logs = [];
    await emptyTables(db);
    t = await start();
    expect((await t.sendActivity(botInstalledInTeam(connector.url))).status).toBeLessThan(300);
  });
  afterEach(async () => {
    await t.close();
  });

  it('turns a new incident row into a card, with the entities of its alerts, under the webhook’s key', async () => {
    const demo = demoIncident('brute-force-admin');
    la.ingestIncident(demo);
    expect(await poll()).toEqual({ kind: 'polled', rows: 1, created: 1, updated: 0, unchanged: 0, malformed: 0 });
    const [post] = await connector.waitFor('POST', '/v3/conversations/:id/activities');
    const text = cardText(post!.body as Record<string, unknown>);
    expect(text).toContain('Multiple failed sign-ins followed by success for a Global Administrator');
    expect(text).toContain('Incident #1041');
    expect(text).toContain('203.0.113.66');
    expect(text).toContain('admin.jane@contoso.example');
    // Stored where the webhook would have stored it, so the two never make two cards.
    const stored = await getIncident(db, demo.object.id);
    expect(stored?.incident.entities.map((e) => `${e.kind}:${e.value}`)).toEqual(['ip:203.0.113.66', 'account:admin.jane@contoso.example']);
    expect(stored?.incident.url).toBe(`https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident${demo.object.id}`);
    const [alertQuery] = queries('SecurityAlert');
    expect(alertQuery!.headers.authorization).toBeUndefined();
    expect(posts()).toHaveLength(1);
  });

  it('updates that same card when a newer row of the incident arrives', async () => {
    la.ingestIncident(demoIncident('brute-force-admin'));
    await poll();
    await connector.waitFor('POST', '/v3/conversations/:id/activities');
    la.ingestIncident(demoIncident('brute-force-admin.update'));
    expect(await poll()).toMatchObject({ kind: 'polled', updated: 1 });
    await connector.waitFor('PUT', '/v3/conversations/:id/activities/:activityId');
    await t.app.outbox.idle();
    const shown = connector.conversation(CHANNEL_ID);
    expect(shown).toHaveLength(1);
    expect(posts()).toHaveLength(1);
    expect(cardText(shown[0]!.versions.at(-1)!)).toContain('Megan Bowen');
  });

  it('changes nothing for a replayed row or an older one, and asks for no alerts again', async () => {
    await t.close();
    t = await start({ VIGIL_POLL_OVERLAP_MINUTES: '0' });
    la.ingestIncident(demoIncident('brute-force-admin.update'));
    await poll();
    await connector.waitFor('POST', '/v3/conversations/:id/activities');
    const shown = await settled();
    await sleep(5);
    la.ingestIncident(demoIncident('brute-force-admin.update'));
    expect(await poll()).toEqual({ kind: 'polled', rows: 1, created: 0, updated: 0, unchanged: 1, malformed: 0 });
    await sleep(5);
    la.ingestIncident(demoIncident('brute-force-admin'));
    expect(await poll()).toEqual({ kind: 'polled', rows: 1, created: 0, updated: 0, unchanged: 1, malformed: 0 });
    expect(await settled()).toEqual(shown);
    expect(shown.posts).toBe(1);
    expect((await getIncident(db, demoIncident('brute-force-admin').object.id))?.incident.status).toBe('Active');
    expect(queries('SecurityAlert')).toHaveLength(1);
  });

  it('reads a row that became visible late, within the overlap before the cursor', async () => {
    la.ingestIncident(demoIncident('powershell-web-01'));
    await poll();
    const saved = Date.parse(await cursor());
    // Ingested two minutes before the cursor, but queryable only now.
    la.ingestIncident(demoIncident('unfamiliar-signin'), new Date(saved - 2 * 60_000));
    expect(await poll()).toMatchObject({ kind: 'polled', created: 1 });
    await connector.waitFor('POST', '/v3/conversations/:id/activities', 2);
  });

  it('reads page after page in ingestion order, ties included, and stops at a short page', async () => {
    await t.close();
    t = await start({}, 3_600_000, 2);
    const at = new Date(Date.now() - 1000);
    for (const n of [1, 2, 3, 4, 5]) la.addSecurityIncidentRow(validRow(`f00dfeed-0000-4000-8000-00000000000${n}`, 900 + n), n <= 3 ? at : new Date(at.getTime() + n));
    const sent = queries('SecurityIncident').length;
    expect(await poll()).toMatchObject({ kind: 'polled', rows: 5, created: 5 });
    expect(queries('SecurityIncident').length - sent).toBe(3);
    expect((await db.query('SELECT count(*)::int AS n FROM incidents')).rows[0]).toEqual({ n: 5 });
  });

  it('keeps its cursor through a restart: the next poll starts from it, and no card is posted twice', async () => {
    la.ingestIncident(demoIncident('powershell-web-01'));
    await poll();
    await connector.waitFor('POST', '/v3/conversations/:id/activities');
    const shown = await settled();
    const saved = await cursor();
    await t.close();
    la.reset();
    la.ingestIncident(demoIncident('powershell-web-01'));
    t = await start();
    expect(await poll()).toMatchObject({ kind: 'polled', created: 0, updated: 0 });
    const [first] = queries('SecurityIncident');
    const from = /IngestedAt > datetime\(([^)]+)\)/.exec((first!.body as { query: string }).query)![1]!;
    expect(from).toBe(new Date(Date.parse(saved) - 10 * 60_000).toISOString());
    expect(await settled()).toEqual(shown);
    expect(connector.conversation(CHANNEL_ID)).toHaveLength(1);
  });

  it('skips a malformed row without logging its content, and the rows after it still arrive', async () => {
    la.addSecurityIncidentRow(validRow('bad-severity', 901, { Severity: 'Apocalyptic', Title: 'CONTENT-OF-A-BAD-ROW' }));
    la.addSecurityIncidentRow(validRow('bad-owner', 902, { Owner: 'not json {', Title: 'CONTENT-OF-A-BAD-ROW' }));
    la.addSecurityIncidentRow(validRow('../../other', 903, { Title: 'CONTENT-OF-A-BAD-ROW' }));
    la.ingestIncident(demoIncident('unfamiliar-signin'));
    la.addSecurityIncidentRow(validRow('f00dfeed-0000-4000-8000-000000000904', 904));
    expect(await poll()).toEqual({ kind: 'polled', rows: 5, created: 2, updated: 0, unchanged: 0, malformed: 3 });
    await connector.waitFor('POST', '/v3/conversations/:id/activities', 2);
    expect(
      posts()
        .map((p) => cardText(p.body as Record<string, unknown>))
        .some((c) => c.includes('Polled incident 904')),
    ).toBe(true);
    expect((await db.query('SELECT count(*)::int AS n FROM incidents')).rows[0]).toEqual({ n: 2 });
    const skipped = logs.filter((l) => l.includes('skipped a SecurityIncident row'));
    expect(skipped).toHaveLength(3);
    expect(skipped.join('')).toContain('properties.severity');
    expect(logs.join('')).not.toContain('CONTENT-OF-A-BAD-ROW');
    // Past every row, the skipped ones too: they are not read again and again.
    expect(Date.parse(await cursor())).toBeGreaterThanOrEqual(Date.now() - 5000);
  });

  it('leaves the cursor where it was while Log Analytics fails (503, no answer), and reads the rows once it answers', async () => {
    const before = await cursor();
    la.ingestIncident(demoIncident('brute-force-admin'));
    la.set({ fail: { count: 100, status: 503 } }); // more than a query's retries
    expect(await poll()).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/^Log Analytics: /) });
    la.set({ fail: { count: 0, status: 503 } });
    expect(await cursor()).toBe(before);

    la.set({ hang: true });
    expect(await poll()).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/did not finish within 1 s/) });
    expect(await cursor()).toBe(before);
    expect((await db.query('SELECT count(*)::int AS n FROM incidents')).rows[0]).toEqual({ n: 0 });

    la.set({ hang: false });
    expect(await poll()).toMatchObject({ kind: 'polled', created: 1 });
    await connector.waitFor('POST', '/v3/conversations/:id/activities');
  });

  it('fails the poll when the alerts cannot be read, so the incident is not stored without its entities', async () => {
    la.ingestIncident(demoIncident('brute-force-admin'));
    const before = await cursor();
    // The SecurityIncident query answers, the SecurityAlert query after it does not.
    const sent = la.requests('POST', QUERY).length;
    const run = poll();
    await la.waitFor('POST', QUERY, sent + 1);
    la.set({ fail: { count: 100, status: 503 } });
    expect(await run).toMatchObject({ kind: 'failed', reason: expect.stringMatching(/SecurityAlert/) });
    la.set({ fail: { count: 0, status: 503 } });
    expect(await cursor()).toBe(before);
    expect(await poll()).toMatchObject({ kind: 'polled', created: 1 });
    expect((await getIncident(db, demoIncident('brute-force-admin').object.id))?.incident.entities).toHaveLength(2);
  });

  it('tries again by itself after a failure', async () => {
    await t.close();
    la.set({ fail: { count: 2, status: 503 } });
    la.ingestIncident(demoIncident('powershell-web-01'));
    t = await start({}, 100);
    await connector.waitFor('POST', '/v3/conversations/:id/activities', 1, 5000);
    expect(connector.conversation(CHANNEL_ID)).toHaveLength(1);
  });

  it('polls from one replica at a time; another takes over when it stops', async () => {
    const second = await startTestApp({ LOGS_ENDPOINT: la.url, VIGIL_POLL_SECURITY_INCIDENTS: 'on' }, { db, poller: { intervalMs: 3_600_000 } });
    try {
      const sent = queries('SecurityIncident').length;
      expect(await second.app.poller!.pollNow()).toEqual({ kind: 'busy' });
      expect(queries('SecurityIncident')).toHaveLength(sent);
      la.ingestIncident(demoIncident('brute-force-admin'));
      await t.close();
      expect(await second.app.poller!.pollNow()).toMatchObject({ kind: 'polled', created: 1 });
      await connector.waitFor('POST', '/v3/conversations/:id/activities');
    } finally {
      await second.close();
      t = await start();
    }
  });
});
