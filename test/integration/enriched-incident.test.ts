import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import type { Db } from '../../src/store/db';
import { demoIncident } from '../helpers/fixtures';
import { botInstalledInTeam, CHANNEL_ID, personalMessage } from '../helpers/teams-activities';
import { openTestDb, resetDb, startTestApp, type TestApp } from '../helpers/test-app';

const cardOf = (activity: Record<string, unknown>) => JSON.stringify((activity.attachments as Array<{ content: unknown }>)[0]!.content);

describe('incidents and indicators enriched from every source', () => {
  let connector: BotConnectorStandIn;
  let sandboxes: Sandboxes;
  let db: Db;
  let t: TestApp;

  beforeAll(async () => {
    [connector, sandboxes, db] = await Promise.all([startBotConnector(), startSandboxes(), openTestDb()]);
  });
  afterAll(async () => {
    await Promise.all([connector.close(), sandboxes.close()]);
    await db.close();
  });
  beforeEach(async () => {
    connector.reset();
    for (const s of sandboxes.all) s.reset();
    await resetDb(db);
    t = await startTestApp(sandboxes.env, { db });
    await t.sendActivity(botInstalledInTeam(connector.url));
  });
  afterEach(async () => {
    await t.close();
  });

  it('says BLOCK IMMEDIATELY and Critical for a malicious IP and a privileged account, with the figures', async () => {
    await t.postIncident(demoIncident('brute-force-admin'));
    await connector.waitFor('POST', '/v3/conversations/:id/activities');
    await t.app.enricher.idle();
    await t.app.outbox.idle();
    const card = cardOf(connector.conversation(CHANNEL_ID)[0]!.versions.at(-1)!);
    expect(card).toContain('BLOCK IMMEDIATELY');
    expect(card).toContain('assessed Critical');
    expect(card).toContain('privileged account');
    expect(card).toContain('malicious 58/90');
    expect(card).toContain('confidence 100%');
    expect(card).toContain('name Jane Admin');
    expect(card).toContain('roles Global Administrator');
    expect(card).toContain('41 sign-ins in 24 hours, 37 failed from NL, US');
    // The workspace's related incidents leave out the incident itself (#1041).
    expect(card).toContain('1 related incident in 7 days: #1038');
    // VirusTotal and AbuseIPDB were asked about the IP, Graph about the account.
    expect(sandboxes.virustotal.requests('GET').map((r) => r.path)).toEqual(['/api/v3/ip_addresses/203.0.113.66']);
    expect(sandboxes.abuseipdb.requests('GET')).toHaveLength(1);
    const [batch] = sandboxes.graph.requests('POST', '/v1.0/$batch');
    expect((batch!.body as { requests: Array<{ url: string }> }).requests[0]!.url).toMatch(/^\/users\/admin\.jane%40contoso\.example\?/);
  });

  it('shows the host, its hash and its URL for an endpoint incident', async () => {
    await t.postIncident(demoIncident('powershell-web-01'));
    await connector.waitFor('POST', '/v3/conversations/:id/activities');
    await t.app.enricher.idle();
    await t.app.outbox.idle();
    const card = cardOf(connector.conversation(CHANNEL_ID)[0]!.versions.at(-1)!);
    expect(card).toContain('power running');
    expect(card).toContain('NSG web-nsg');
    expect(card).toContain('malicious 66/72');
    expect(card).toContain('BLOCK IMMEDIATELY');
  });

  it('answers enrich <ip> with every source for an IP', async () => {
    await t.sendActivity(personalMessage(connector.url, 'enrich 203.0.113[.]66'));
    const [reply] = await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo');
    const card = cardOf(reply!.body as Record<string, unknown>);
    expect(card).toContain('Enrichment · IP 203.0.113.66');
    expect(card).toContain('BLOCK IMMEDIATELY');
    for (const source of ['VirusTotal', 'AbuseIPDB', 'Log Analytics']) expect(card).toContain(source);
  });

  it('runs kql for a responder and shows the table, and refuses someone outside the responder group', async () => {
    await t.sendActivity(personalMessage(connector.url, 'kql SigninLogs | take 2'));
    const [reply] = await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo');
    const content = (reply!.body as { attachments: Array<{ content: { body: Array<Record<string, any>> } }> }).attachments[0]!.content;
    expect(content.body[0]!.text).toMatch(/^KQL · 2 rows · 5 columns · \d+ ms$/);
    const table = content.body.find((b) => b.type === 'Table')!;
    expect(table.rows).toHaveLength(3);
    expect(JSON.stringify(table.rows[1])).toContain('admin.jane@contoso.example');
    expect(sandboxes.graph.requests('POST', '/v1.0/users/:id/checkMemberGroups')[0]!.body).toEqual({ groupIds: [sandboxes.env.VIGIL_RESPONDER_GROUP_IDS] });

    connector.reset();
    const outsider = { ...personalMessage(connector.url, 'kql SigninLogs | take 2'), from: { id: '29:other', name: 'Jane Admin', aadObjectId: '5f0c6a1e-2b7d-4e1a-9c3d-000000000001' } };
    await t.sendActivity(outsider);
    const [refusal] = await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo');
    expect((refusal!.body as { text: string }).text).toBe('Only responders may run queries, and you are not a member of a responder group.');
    expect(sandboxes.logAnalytics.requests('POST')).toHaveLength(1);
  });

  it("answers a wrong query with Log Analytics' own message", async () => {
    await t.sendActivity(personalMessage(connector.url, 'kql SecurityEvnt | take 5'));
    const [reply] = await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo');
    expect((reply!.body as { text: string }).text).toContain("Failed to resolve table or column expression named 'SecurityEvnt'");
  });
});
