import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { demoUnifiedIncident } from '../../sandbox/graph-security-data';
import { startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import type { Db } from '../../src/store/db';
import { writeBackOf } from '../../src/incidents/incident';
import { getIncident } from '../../src/store/incident-repository';
import { eventually } from '../helpers/actions-setup';
import { demoIncident, withProperties } from '../helpers/fixtures';
import { botInstalledInTeam, CHANNEL_ID } from '../helpers/teams-activities';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';
import { startTestApp, type TestApp } from '../helpers/test-app';

const ARM_ID = demoIncident('brute-force-admin').object.id;
const GRAPH_TITLE = 'Multi-stage incident involving Initial access & Exfiltration on one endpoint reported by multiple sources';

/** Sentinel's copy of Defender XDR incident `xdrId`: the demo's brute-force incident (#1041) as Defender raised it, modified at `at`. */
const sentinelCopy = (xdrId: string, at: string) => withProperties(demoIncident('brute-force-admin'), { providerName: 'Microsoft XDR', providerIncidentId: xdrId, lastModifiedTimeUtc: at });
/** Defender's copy, updated at `at`. */
const graphCopy = (xdrId: string, at: string) => demoUnifiedIncident(xdrId, at);

const cardText = (a: { versions: Array<Record<string, unknown>> }) => JSON.stringify(a.versions.at(-1)!.attachments);

describe.each(storeDrivers())('one Defender XDR incident by the Sentinel webhook or poller and by Graph, on $name: one incident, one card', (driver) => {
  let connector: BotConnectorStandIn;
  let sandboxes: Sandboxes;
  let db: Db;
  let drop: () => Promise<void>;
  let t: TestApp;

  beforeAll(async () => {
    [connector, sandboxes, { db, drop }] = await Promise.all([startBotConnector(), startSandboxes(), driver.open()]);
  });
  afterAll(async () => {
    await Promise.all([connector.close(), sandboxes.close()]);
    await drop();
  });
  beforeEach(async () => {
    await emptyTables(db);
    connector.reset();
    for (const s of sandboxes.all) s.reset();
    sandboxes.graphSecurity.clear();
    // Both pollers on an hour's timer: the tests decide when each polls.
    t = await startTestApp({ ...sandboxes.env, VIGIL_POLL_GRAPH_INCIDENTS: 'on', VIGIL_POLL_SECURITY_INCIDENTS: 'on' }, { db, poller: { intervalMs: 3_600_000 } });
    await Promise.all([t.app.graphPoller!.pollNow(), t.app.poller!.pollNow()]);
    expect((await t.sendActivity(botInstalledInTeam(connector.url))).status).toBeLessThan(300);
  });
  afterEach(() => t.close());

  const settle = async () => {
    await t.app.enricher.idle();
    await eventually('every card out', async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM incident_cards WHERE sent_version < desired_version')).rows[0]!.n === 0);
    await t.app.outbox.idle();
  };
  const incidentRows = async () => (await db.query<{ key: string }>('SELECT key FROM incidents ORDER BY key')).rows.map((r) => r.key);
  const posts = () => connector.requests('POST', '/v3/conversations/:id/activities');

  it('webhook first, then Graph: Graph’s newer copy updates the Sentinel incident’s card, which opens in both portals', async () => {
    expect((await t.postIncident(sentinelCopy('4101', '2026-11-30T08:00:00Z'))).status).toBe(202);
    await settle();
    sandboxes.graphSecurity.putIncident(graphCopy('4101', new Date().toISOString()));
    expect(await t.app.graphPoller!.pollNow()).toMatchObject({ kind: 'polled', rows: 1, created: 0, updated: 1 });
    await settle();

    expect(await incidentRows()).toEqual([ARM_ID.toLowerCase()]);
    expect(posts()).toHaveLength(1);
    const [card] = connector.conversation(CHANNEL_ID);
    expect(connector.conversation(CHANNEL_ID)).toHaveLength(1);
    // Sentinel's number and link stay; what the incident says now is Graph's; Defender's page is a second link.
    expect(cardText(card!)).toContain('Incident #1041');
    expect(cardText(card!)).toContain(GRAPH_TITLE.slice(0, 40));
    expect(cardText(card!)).toContain('Open in Defender');
    expect(cardText(card!)).toContain('https://security.microsoft.com/incidents/4101?tid=');
    const stored = (await getIncident(db, ARM_ID))!.incident;
    expect(stored).toMatchObject({ id: ARM_ID, xdrId: '4101', title: GRAPH_TITLE });
    expect(writeBackOf(stored)).toBe('sentinel');

    // Each copy again (the Graph poller's overlap, a replayed webhook): nothing changes.
    const versions = card!.versions.length;
    expect(await t.app.graphPoller!.pollNow()).toMatchObject({ kind: 'polled', created: 0, updated: 0 });
    expect((await t.postIncident(sentinelCopy('4101', '2026-11-30T08:00:00Z'))).status).toBe(202);
    await settle();
    expect(posts()).toHaveLength(1);
    expect(connector.conversation(CHANNEL_ID)[0]!.versions).toHaveLength(versions);
  });

  it('Graph first, then the SecurityIncident poller: Sentinel’s copy joins the Graph incident’s card, adding its workspace’s link', async () => {
    sandboxes.graphSecurity.putIncident(graphCopy('4102', new Date().toISOString()));
    expect(await t.app.graphPoller!.pollNow()).toMatchObject({ kind: 'polled', created: 1 });
    await settle();
    // Logged in the workspace a little before Graph's last update.
    sandboxes.logAnalytics.ingestIncident(sentinelCopy('4102', new Date(Date.now() - 60_000).toISOString()));
    expect(await t.app.poller!.pollNow()).toMatchObject({ kind: 'polled', rows: 1, created: 0 });
    await settle();

    expect(await incidentRows()).toEqual(['graph:4102']);
    expect(posts()).toHaveLength(1);
    expect(connector.conversation(CHANNEL_ID)).toHaveLength(1);
    const text = cardText(connector.conversation(CHANNEL_ID)[0]!);
    expect(text).toContain('Incident #4102');
    expect(text).toContain('Open in Sentinel');
    expect(text).toContain(`https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident${ARM_ID}`);
    expect((await getIncident(db, 'graph:4102'))!.incident).toMatchObject({ id: '4102', writeBack: 'graph', xdrId: '4102', sentinelUrl: expect.stringContaining(ARM_ID) });
  });

  it('the webhook and the Graph poller storing their copies at the same moment still store one', async () => {
    sandboxes.graphSecurity.putIncident(graphCopy('4103', new Date().toISOString()));
    const [posted] = await Promise.all([t.postIncident(sentinelCopy('4103', '2026-11-30T08:00:00Z')), t.app.graphPoller!.pollNow()]);
    expect(posted.status).toBe(202);
    await settle();
    expect(await incidentRows()).toHaveLength(1);
    expect(posts()).toHaveLength(1);
  });

  it('a Sentinel incident that Defender did not raise is never matched by its providerIncidentId (Sentinel’s own number)', async () => {
    sandboxes.graphSecurity.putIncident(graphCopy('1041', new Date().toISOString()));
    await t.app.graphPoller!.pollNow();
    const own = withProperties(demoIncident('brute-force-admin'), { providerName: 'Azure Sentinel', providerIncidentId: '1041' });
    expect((await t.postIncident(own)).status).toBe(202);
    await settle();
    expect(await incidentRows()).toEqual([ARM_ID.toLowerCase(), 'graph:1041'].sort());
    expect(posts()).toHaveLength(2);
  });
});
