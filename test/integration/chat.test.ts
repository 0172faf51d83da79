import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { startSentinel, type SentinelStandIn } from '../../sandbox/sentinel';
import type { Db } from '../../src/store/db';
import { demoIncident, fixture } from '../helpers/fixtures';
import { personalMessage } from '../helpers/teams-activities';
import { openTestDb, resetDb, startTestApp, TENANT_ID, type TestApp } from '../helpers/test-app';

/** The reply the bot sent to the conversation, as the connector received it. */
const replyTo = async (connector: BotConnectorStandIn) => {
  const [reply] = await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo');
  return reply!.body as { text?: string; attachments?: Array<{ contentType: string; content: any }> };
};
const MEGAN = '7faf8ab2-3d56-4244-b585-20c8a42ed2b8';
const textOf = (reply: { text?: string; attachments?: Array<{ content: unknown }> }) => `${reply.text ?? ''} ${JSON.stringify(reply.attachments ?? [])}`;

describe('chat with Vigil', () => {
  let connector: BotConnectorStandIn;
  let sentinel: SentinelStandIn;
  let db: Db;
  let t: TestApp;

  beforeAll(async () => {
    connector = await startBotConnector();
    const contract = fixture('test/fixtures/contracts/GetIncidentById.2024-09-01.json').responses['200'].body;
    sentinel = await startSentinel({ incidents: [contract] });
    db = await openTestDb();
  });
  afterAll(async () => {
    await Promise.all([connector.close(), sentinel.close()]);
    await db.close();
  });
  beforeEach(async () => {
    connector.reset();
    await resetDb(db);
    t = await startTestApp(
      {
        ARM_ENDPOINT: sentinel.url,
        // The demo incidents' workspace: Vigil accepts incidents from its own workspace only.
        SENTINEL_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000',
        SENTINEL_RESOURCE_GROUP: 'soc-rg',
        SENTINEL_WORKSPACE_NAME: 'soc-workspace',
        // Megan Bowen (who sends Microsoft's example message) is a responder by name.
        VIGIL_RESPONDER_USER_IDS: MEGAN,
      },
      { db },
    );
  });
  afterEach(async () => {
    await t.close();
  });

  it('answers help with every command and what it does', async () => {
    await t.sendActivity(personalMessage(connector.url, 'help'));
    const reply = await replyTo(connector);
    expect(reply.attachments?.[0]?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const facts = reply.attachments![0]!.content.body[2].facts.map((f: { title: string }) => f.title);
    expect(facts).toEqual([
      'help',
      'incidents',
      'incident \\<number\\>',
      'entities \\<number\\> \\[page\\]',
      'enrich \\<ip | domain | url | hash | upn\\>',
      'kql \\<query\\>',
      'oncall',
      'page \\<number\\>',
      'ack \\<number\\>',
      'block \\<ip | hash\\> \\[for \\<number\\>\\]',
      'isolate \\<host\\> \\[for \\<number\\>\\]',
      'disable \\<upn\\> \\[for \\<number\\>\\]',
      'indicator \\<ip | domain | url | hash\\> \\[for \\<number\\>\\]',
      'actions',
      'audit \\<number\\>',
      'stats',
      'assign \\<number\\>',
      'comment \\<number\\> \\<text\\>',
      'close \\<number\\> \\<tp | bp | fp | fp-data | undetermined\\> \\[comment\\]',
      'subscribe \\<rule\\>',
      'subscriptions',
      'unsubscribe \\[\\<number\\>\\]',
      'ticket \\<number\\>',
    ]);
  });

  it('lists open incidents, most severe first, newest first', async () => {
    for (const name of ['unfamiliar-signin', 'powershell-web-01', 'brute-force-admin']) await t.postIncident(demoIncident(name));
    await t.sendActivity(personalMessage(connector.url, 'incidents'));
    const lines: string[] = (await replyTo(connector)).attachments![0]!.content.body.slice(1, 4).map((b: { text: string }) => b.text);
    expect(lines.map((l) => /#(\d+)/.exec(l)?.[1])).toEqual(['1041', '1042', '1043']);
    expect(lines[0]).toContain('HIGH');
  });

  it('shows one stored incident as its card', async () => {
    await t.postIncident(demoIncident('powershell-web-01'));
    await t.sendActivity(personalMessage(connector.url, 'incident 1042'));
    const text = textOf(await replyTo(connector));
    expect(text).toContain('Encoded PowerShell downloading a payload on web-01');
    expect(text).toContain('Incident #1042');
  });

  it('fetches an incident it has not seen from Sentinel', async () => {
    await t.sendActivity(personalMessage(connector.url, 'incident 3177'));
    const text = textOf(await replyTo(connector));
    expect(text).toContain('My incident');
    const [lookup] = sentinel.requests('GET', '/subscriptions/:s/resourceGroups/:rg/providers/Microsoft.OperationalInsights/workspaces/:ws/providers/Microsoft.SecurityInsights/incidents');
    expect(lookup!.query).toMatchObject({ $filter: 'properties/incidentNumber eq 3177', 'api-version': '2025-09-01' });
  });

  it('says plainly when an incident does not exist, or Sentinel is down', async () => {
    await t.sendActivity(personalMessage(connector.url, 'incident 99'));
    expect((await replyTo(connector)).text).toBe('Incident #99 was not found in Sentinel.');
    connector.reset();
    sentinel.set({ fail: { count: 100, status: 503 } }); // more than the look-up retries
    await t.sendActivity(personalMessage(connector.url, 'incident 98'));
    expect((await replyTo(connector)).text).toMatch(/could not look up incident #98 in Sentinel: Microsoft Sentinel answered 503/);
  });

  it('points an unknown command to help, without echoing markup', async () => {
    await t.sendActivity(personalMessage(connector.url, '[phish](https://evil.example) please'));
    const reply = await replyTo(connector);
    expect(reply.text).toMatch(/Type \*\*help\*\*/);
    expect(reply.text).not.toContain('](https://');
  });

  it('answers an @mention in a channel thread', async () => {
    const mention = fixture('test/fixtures/contracts/activity.message.channel-mention.json');
    await t.sendActivity({ ...mention, serviceUrl: connector.url, text: '<at>ridotest</at> help' });
    const [reply] = await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo');
    expect(decodeURIComponent(reply!.path)).toContain('19:6848757105754c8981c67612732d9aa7@thread.tacv2;messageid=1759881511856');
    expect(JSON.stringify(reply!.body)).toContain('incident \\\\<number\\\\>');
  });

  it('refuses activities from another tenant when a tenant is configured, saying why', async () => {
    await t.close();
    t = await startTestApp({ MicrosoftAppTenantId: '11111111-2222-3333-4444-555555555555' }, { db });
    await t.sendActivity(personalMessage(connector.url, 'help'));
    expect((await replyTo(connector)).text).toBe('Vigil works only for people in its own organisation (Microsoft Entra tenant).');
    // The same message from the configured tenant (any case) gets its answer.
    await t.close();
    connector.reset();
    t = await startTestApp({ MicrosoftAppTenantId: TENANT_ID.toUpperCase() }, { db });
    await t.sendActivity(personalMessage(connector.url, 'help'));
    expect((await replyTo(connector)).attachments?.[0]?.contentType).toBe('application/vnd.microsoft.card.adaptive');
  });

  it('reads commands in NFKC with zero-width characters removed, and says when a message is too long', async () => {
    for (const name of ['unfamiliar-signin', 'powershell-web-01']) await t.postIncident(demoIncident(name));
    // Fullwidth letters and a zero-width space inside the command word.
    await t.sendActivity(personalMessage(connector.url, 'ｉｎｃｉ\u200Bdent １０４２'));
    expect(textOf(await replyTo(connector))).toContain('Incident #1042');
    connector.reset();
    await t.sendActivity(personalMessage(connector.url, `incident ${'4'.repeat(4100)}`));
    expect((await replyTo(connector)).text).toBe('That message is too long: 4109 characters, at most 4000.');
    connector.reset();
    // kql takes longer queries (up to 10,000 characters) and says so past that.
    await t.sendActivity(personalMessage(connector.url, `kql ${'x'.repeat(12_000)}`));
    expect((await replyTo(connector)).text).toBe('That message is too long: 12004 characters, at most 10000.');
    connector.reset();
    // Past anything Vigil reads whole (Teams allows about 28 KB): still the command's own limit.
    await t.sendActivity(personalMessage(connector.url, `kql ${'x'.repeat(40_000)}`));
    expect((await replyTo(connector)).text).toBe('That message is too long: 40004 characters, at most 10000.');
  });
});
