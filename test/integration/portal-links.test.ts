import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import type { Db } from '../../src/store/db';
import { demoIncident, withProperties } from '../helpers/fixtures';
import { botInstalledInTeam } from '../helpers/teams-activities';
import { openTestDb, resetDb, startTestApp, type TestApp } from '../helpers/test-app';

const TID = '12f988bf-16f1-11af-11ab-1d7cd011db47';

/** The demo's brute-force incident as Defender XDR raised it in the workspace, with `providerIncidentUrl` as given. */
const fromDefender = (providerIncidentUrl: unknown, providerIncidentId = '3962401') => {
  const body = demoIncident('brute-force-admin');
  return withProperties(body, {
    providerName: 'Microsoft XDR',
    providerIncidentId,
    additionalData: { ...body.object.properties.additionalData, providerIncidentUrl },
  });
};

type OpenUrl = { type: string; title: string; url: string };

describe('the links on an incident card', () => {
  let connector: BotConnectorStandIn;
  let db: Db;
  let t: TestApp;

  beforeAll(async () => {
    [connector, db] = await Promise.all([startBotConnector(), openTestDb()]);
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

  /** The card's Open buttons, as the Bot Connector received the card. */
  const openButtons = async (body: unknown): Promise<OpenUrl[]> => {
    expect((await t.postIncident(body)).status).toBe(202);
    const [post] = await connector.waitFor('POST', '/v3/conversations/:id/activities');
    const card = (post!.body as { attachments: Array<{ content: { actions: OpenUrl[] } }> }).attachments[0]!.content;
    return card.actions.filter((a) => a.type === 'Action.OpenUrl').map(({ type, title, url }) => ({ type, title, url }));
  };
  const sentinelLink = `https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident${demoIncident('brute-force-admin').object.id}`;

  it('opens a Sentinel incident in Sentinel (from its ARM id) and, where Defender raised it, in Defender (its providerIncidentUrl)', async () => {
    const buttons = await openButtons(fromDefender(`https://security.microsoft.com/incidents/3962401?tid=${TID}`));
    expect(buttons).toEqual([
      { type: 'Action.OpenUrl', title: 'Open in Sentinel', url: sentinelLink },
      { type: 'Action.OpenUrl', title: 'Open in Defender', url: `https://security.microsoft.com/incidents/3962401?tid=${TID}` },
    ]);
  });

  it('has no Defender link without providerIncidentUrl', async () => {
    expect((await openButtons(demoIncident('brute-force-admin'))).map((b) => b.title)).toEqual(['Open in Sentinel']);
  });

  it.each([
    ['javascript:', 'javascript:alert(document.cookie)//security.microsoft.com/incidents/3962401'],
    ['plain http', 'http://security.microsoft.com/incidents/3962401'],
    ['another host', 'https://security.microsoft.com.evil.example/incidents/3962401'],
    ['credentials', 'https://evil.example@security.microsoft.com/incidents/3962401'],
    ['a port', 'https://security.microsoft.com:8443/incidents/3962401'],
    ['another page', 'https://security.microsoft.com/alerts/3962401'],
    ["another incident's page", 'https://security.microsoft.com/incidents/666'],
    ['not a string', { href: 'https://security.microsoft.com/incidents/3962401' }],
  ])('refuses a providerIncidentUrl with %s: the incident is stored, the link is not shown', async (_what, url) => {
    const buttons = await openButtons(fromDefender(url));
    expect(buttons.map((b) => b.title)).toEqual(['Open in Sentinel']);
    expect(JSON.stringify(buttons)).not.toMatch(/evil|javascript|8443|alerts|666/);
  });

  it('keeps of a Defender link only the portal, the incident and a GUID tid', async () => {
    const buttons = await openButtons(fromDefender('https://security.microsoft.com/incidents/3962401?tid=not-a-guid&redirect=https://evil.example#x'));
    expect(buttons[1]).toEqual({ type: 'Action.OpenUrl', title: 'Open in Defender', url: 'https://security.microsoft.com/incidents/3962401' });
  });
});
