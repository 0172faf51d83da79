import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import type { Db } from '../../src/store/db';
import { eventually, MEGAN, type Person } from '../helpers/actions-setup';
import { demoIncident, fixture, withProperties } from '../helpers/fixtures';
import { botInstalledInTeam, CHANNEL_ID, TEAM_ID } from '../helpers/teams-activities';
import { openTestDb, resetDb, startTestApp, TENANT_ID, type TestApp } from '../helpers/test-app';

const SOC = CHANNEL_ID;
const FRAUD = '19:5f3b0c9a1d2e4f60a7b8c9d0e1f2a3b4@thread.tacv2';
/** Two workspaces: contoso is the sandbox's own (soc-workspace), fabrikam a second one. */
const WORKSPACES = `workspaces:
  - name: contoso
    subscriptionId: 00000000-0000-0000-0000-000000000000
    resourceGroup: soc-rg
    workspaceName: soc-workspace
    workspaceId: 00000000-0000-0000-0000-000000000001
  - name: fabrikam
    subscriptionId: 00000000-0000-0000-0000-000000000000
    resourceGroup: fabrikam-rg
    workspaceName: fabrikam-ws
    workspaceId: 00000000-0000-0000-0000-000000000002
`;
const PATTI = { id: 'a1b2c3d4-0000-4000-8000-000000000021', name: 'Patti Fernandez' };

const numberOf = (activity: Record<string, unknown>) => Number(/Incident #(\d+)/.exec(JSON.stringify(activity.attachments))?.[1]);

/** Incident `number` with its own ARM id. */
const incident = (number: number, severity: string, changes: Record<string, unknown> = {}, name = 'unfamiliar-signin') => {
  const body = withProperties(demoIncident(name), { incidentNumber: number, severity, ...changes });
  body.object.id = body.object.id.replace(/[^/]+$/, `routing-${number}`);
  return body;
};

/** The same, raised in the fabrikam workspace. */
const fabrikamIncident = (number: number, severity: string, changes: Record<string, unknown> = {}) => {
  const body = incident(number, severity, changes);
  body.object.id = body.object.id.replace('/resourceGroups/soc-rg/', '/resourceGroups/fabrikam-rg/').replace('/workspaces/soc-workspace/', '/workspaces/fabrikam-ws/');
  body.workspaceInfo = { ...body.workspaceInfo, ResourceGroupName: 'fabrikam-rg', WorkspaceName: 'fabrikam-ws' };
  return body;
};

describe('routing: each channel gets the incidents it subscribed to', () => {
  let connector: BotConnectorStandIn;
  let sandboxes: Sandboxes;
  let db: Db;
  let t: TestApp;
  let sent = 0;
  let env: Record<string, string>;
  let pinnedFile: string;

  beforeAll(async () => {
    [connector, sandboxes, db] = await Promise.all([startBotConnector(), startSandboxes(), openTestDb()]);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-routing-')), 'workspaces.yaml');
    fs.writeFileSync(file, WORKSPACES);
    env = { ...sandboxes.env, VIGIL_WORKSPACES_FILE: file };
    pinnedFile = path.join(path.dirname(file), 'pinned.yaml');
    fs.writeFileSync(pinnedFile, `${WORKSPACES}    channels: ['${FRAUD}']\n`);
  });
  afterAll(async () => {
    await Promise.all([connector.close(), sandboxes.close()]);
    await db.close();
  });
  beforeEach(async () => {
    connector.reset();
    for (const s of sandboxes.all) s.reset();
    await resetDb(db);
    t = await startTestApp(env, { db });
    for (const channel of [SOC, FRAUD]) {
      const install = botInstalledInTeam(connector.url);
      install.conversation = { ...install.conversation, id: channel, name: channel === SOC ? 'SOC' : 'Fraud' };
      install.channelData = { ...install.channelData, channel: { id: channel }, settings: { selectedChannel: { id: channel } } };
      expect((await t.sendActivity(install)).status).toBeLessThan(300);
    }
  });
  afterEach(async () => {
    await t.close();
  });

  /** `who` @mentions Vigil in a thread of `channel`; the reply in that thread. */
  const say = async (channel: string, who: Person, text: string): Promise<string> => {
    const mention = fixture('test/fixtures/contracts/activity.message.channel-mention.json');
    sent += 1;
    const before = connector.requests('POST', '/v3/conversations/:id/activities/:replyTo').length;
    await t.sendActivity({
      ...mention,
      id: `routing-${sent}`,
      serviceUrl: connector.url,
      text: `<at>ridotest</at> ${text}`,
      attachments: [],
      from: { id: `29:${who.name.replace(/\s/g, '')}`, name: who.name, aadObjectId: who.id },
      conversation: { id: `${channel};messageid=17000000000${sent}`, isGroup: true, conversationType: 'channel', tenantId: TENANT_ID },
      channelData: { teamsChannelId: channel, channel: { id: channel }, team: { id: TEAM_ID }, tenant: { id: TENANT_ID } },
    });
    const replies = await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo', before + 1);
    return (replies.at(-1)!.body as { text: string }).text;
  };

  const settle = async () => {
    await t.app.enricher.idle();
    await eventually('every card out', async () => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM incident_cards WHERE sent_version < desired_version')).rows[0]!.n === 0);
    await t.app.outbox.idle();
  };
  const post = async (body: unknown) => {
    expect((await t.postIncident(body)).status).toBe(202);
    await settle();
  };
  /** The incident numbers with a card in `channel`, and how many versions each card went through. */
  const cards = (channel: string) => connector.conversation(channel).map((a) => numberOf(a.versions.at(-1)!));
  const versionsOf = (channel: string, number: number) => connector.conversation(channel).find((a) => numberOf(a.versions.at(-1)!) === number)?.versions.length ?? 0;

  it('sends every incident to every channel until one subscribes', async () => {
    await post(incident(8001, 'Informational'));
    expect(cards(SOC)).toEqual([8001]);
    expect(cards(FRAUD)).toEqual([8001]);
    expect(await say(SOC, MEGAN, 'subscriptions')).toMatch(/^This channel gets every incident/);
  });

  it('High to one channel, everything of workspace fabrikam to another, Low nowhere; a reassessment reaches the High channel and the old card keeps updating', async () => {
    expect(await say(SOC, MEGAN, 'subscribe severity&gt;=High')).toMatch(/^Subscribed: `severity>=High`\./);
    expect(await say(FRAUD, MEGAN, 'subscribe workspace=fabrikam')).toMatch(/^Subscribed: `workspace=fabrikam`\./);

    await post(incident(8101, 'High'));
    await post(fabrikamIncident(8102, 'Low'));
    await post(incident(8103, 'Low'));
    expect(cards(SOC)).toEqual([8101]);
    expect(cards(FRAUD)).toEqual([8102]);
    // The card says whose incident it is.
    expect(JSON.stringify(connector.conversation(FRAUD)[0]!.versions[0])).toContain('fabrikam · ');

    // Sentinel raises 8102 to High: the SOC channel gets it now, and the fabrikam channel's card shows the change.
    const fraudVersions = versionsOf(FRAUD, 8102);
    await post(fabrikamIncident(8102, 'High', { lastModifiedTimeUtc: '2026-11-24T03:00:00Z' }));
    expect(cards(SOC)).toEqual([8101, 8102]);
    expect(versionsOf(FRAUD, 8102)).toBeGreaterThan(fraudVersions);
    expect(JSON.stringify(connector.conversation(FRAUD)[0]!.versions.at(-1))).toContain('HIGH');

    // Vigil's own assessment counts too: a Low brute force on an admin is assessed Critical once enriched.
    await post(incident(8104, 'Low', {}, 'brute-force-admin'));
    expect(cards(SOC)).toEqual([8101, 8102, 8104]);
    expect(JSON.stringify(connector.conversation(SOC)[2]!.versions.at(-1))).toContain('assessed Critical');
    expect(cards(FRAUD)).toEqual([8102]);

    // Moved off the SOC's rules (back to Low), its card there still updates.
    const socVersions = versionsOf(SOC, 8102);
    await post(fabrikamIncident(8102, 'Low', { status: 'Active', lastModifiedTimeUtc: '2026-11-24T04:00:00Z' }));
    expect(versionsOf(SOC, 8102)).toBeGreaterThan(socVersions);
    // An incident of a workspace not listed is refused, naming the ones that are.
    const foreign = incident(8105, 'High');
    foreign.object.id = foreign.object.id.replace('/workspaces/soc-workspace/', '/workspaces/other-ws/');
    foreign.workspaceInfo = { ...foreign.workspaceInfo, WorkspaceName: 'other-ws' };
    const refused = await t.postIncident(foreign);
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toContain('Vigil takes incidents of contoso, fabrikam only');
  });

  it('tells two workspaces’ incident 1041 apart in chat', async () => {
    // contoso's 1041 is the newer: what a bare number found before cards said whose they were.
    await post(incident(1041, 'High', { createdTimeUtc: '2026-11-24T01:40:00Z', lastModifiedTimeUtc: '2026-11-24T01:40:00Z' }));
    await post(fabrikamIncident(1041, 'Medium'));
    expect(await say(SOC, MEGAN, 'incident 1041')).toBe('Incident #1041 is in 2 workspaces: contoso, fabrikam. Which one? Say it with the workspace, for example `incident contoso/1041`.');
    const before = connector.requests('POST', '/v3/conversations/:id/activities/:replyTo').length;
    await t.sendActivity({
      ...fixture<Record<string, unknown>>('test/fixtures/contracts/activity.message.personal.json'),
      serviceUrl: connector.url,
      text: 'incident Fabrikam/1041',
      attachments: [],
      from: { id: '29:MeganBowen', name: MEGAN.name, aadObjectId: MEGAN.id },
      channelData: { tenant: { id: TENANT_ID } },
    });
    const reply = (await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo', before + 1)).at(-1)!.body;
    expect(JSON.stringify(reply)).toContain('fabrikam · ');
    expect(JSON.stringify(reply)).toContain('MEDIUM');
    // A comment on fabrikam's 1041 goes to fabrikam's workspace, not to the first listed one.
    const fabrikam1041 = fabrikamIncident(1041, 'Medium');
    sandboxes.putIncident({ ...fabrikam1041.object, name: 'routing-1041' });
    expect(await say(SOC, MEGAN, 'comment fabrikam/1041 checked with the fabrikam SOC')).toBe('Your comment is on incident fabrikam/1041 in Sentinel.');
    const [put] = sandboxes.arm.requests('PUT').filter((r) => r.path.includes('/comments/'));
    expect(put!.path).toContain('/resourceGroups/fabrikam-rg/providers/Microsoft.OperationalInsights/workspaces/fabrikam-ws/providers/Microsoft.SecurityInsights/incidents/routing-1041/comments/');
    // Assign to me on fabrikam's card in the SOC channel writes fabrikam's 1041, not the newer contoso one.
    const fabrikamCard = connector.conversation(SOC).find((a) => JSON.stringify(a.versions[0]).includes('fabrikam · '))!;
    const invoke = await t.sendActivity({
      ...fixture<Record<string, unknown>>('test/fixtures/contracts/activity.message.personal.json'),
      type: 'invoke',
      name: 'adaptiveCard/action',
      serviceUrl: connector.url,
      from: { id: '29:MeganBowen', name: MEGAN.name, aadObjectId: MEGAN.id },
      replyToId: fabrikamCard.id,
      conversation: { conversationType: 'channel', id: `${SOC};messageid=${fabrikamCard.id}`, isGroup: true, tenantId: TENANT_ID },
      channelData: { tenant: { id: TENANT_ID } },
      value: { action: { type: 'Action.Execute', verb: 'incident.assign', data: { incident: 1041 } }, trigger: 'manual' },
    });
    expect(invoke.status).toBe(200);
    const assigned = await eventually('the assignment written', () => sandboxes.arm.requests('PUT').find((r) => !r.path.includes('/comments/')));
    expect(assigned.path).toContain('/workspaces/fabrikam-ws/providers/Microsoft.SecurityInsights/incidents/routing-1041');
    expect(await say(SOC, MEGAN, 'ack nowhere/1041')).toMatch(/^Paging is not configured|^I have not seen incident nowhere\/1041\.$/);
  });

  it('changes at run time from chat, and the subscriptions survive a restart', async () => {
    expect(await say(SOC, MEGAN, 'subscribe severity>=High')).toMatch(/^Subscribed/);
    expect(await say(FRAUD, MEGAN, 'unsubscribe')).toMatch(/^Unsubscribed from everything\.\s+This channel gets no new incidents/);
    await post(incident(8201, 'Medium'));
    expect(cards(SOC)).toEqual([]);
    expect(cards(FRAUD)).toEqual([]);

    expect(await say(SOC, MEGAN, 'subscribe severity=Medium title="*sign-in*"')).toMatch(/^Subscribed/);
    expect(await say(SOC, MEGAN, 'subscriptions')).toBe(
      'This channel gets the incidents that match any of:\n\n1. `severity>=High`\n\n2. `severity=Medium title=*sign-in*`\n\nCards already here keep updating. `unsubscribe <number>` removes one rule, `unsubscribe` all of them.',
    );
    await t.close();
    t = await startTestApp(env, { db });
    await post(incident(8202, 'Medium'));
    await post(incident(8203, 'Low'));
    expect(cards(SOC)).toEqual([8202]);
    expect(cards(FRAUD)).toEqual([]);

    expect(await say(SOC, MEGAN, 'unsubscribe 2')).toMatch(/^Removed `severity=Medium/);
    expect(await say(FRAUD, MEGAN, 'subscribe all')).toMatch(/^Subscribed: `all`/);
    await post(incident(8204, 'Medium'));
    expect(cards(SOC)).toEqual([8202]);
    expect(cards(FRAUD)).toEqual([8204]);
  });

  it('pins a workspace’s channels from the workspaces file: chat adds to them but cannot take them away', async () => {
    await t.close();
    t = await startTestApp({ ...env, VIGIL_WORKSPACES_FILE: pinnedFile }, { db });
    await post(incident(8401, 'High'));
    await post(fabrikamIncident(8402, 'Low'));
    expect(cards(SOC)).toEqual([8401, 8402]);
    expect(cards(FRAUD)).toEqual([8402]);
    expect(await say(FRAUD, MEGAN, 'unsubscribe')).toMatch(/This channel gets the incidents that match any of:\n\n- `workspace=fabrikam` \(pinned by the workspaces file\)/);
    expect(await say(FRAUD, MEGAN, 'subscribe severity=High')).toMatch(/^Subscribed/);
    await post(fabrikamIncident(8403, 'Informational'));
    await post(incident(8404, 'High'));
    expect(cards(FRAUD)).toEqual([8402, 8403, 8404]);
    // Taken out of the file, the pin is gone at the next start; the chat rule stays.
    await t.close();
    t = await startTestApp(env, { db });
    await post(fabrikamIncident(8405, 'Low'));
    expect(cards(FRAUD)).toEqual([8402, 8403, 8404]);
  });

  it('reaches a pinned channel of a team Vigil was installed in through another of its channels (Teams tells of one)', async () => {
    await t.close();
    await resetDb(db);
    connector.reset();
    t = await startTestApp({ ...env, VIGIL_WORKSPACES_FILE: pinnedFile }, { db });
    // Installed in the team through SOC only: Teams never says anything of FRAUD.
    const install = botInstalledInTeam(connector.url);
    install.conversation = { ...install.conversation, id: SOC, name: 'SOC' };
    install.channelData = { ...install.channelData, channel: { id: SOC }, settings: { selectedChannel: { id: SOC } } };
    expect((await t.sendActivity(install)).status).toBeLessThan(300);
    await post(fabrikamIncident(8501, 'Low'));
    await post(incident(8502, 'High'));
    expect(cards(FRAUD)).toEqual([8501]);
    expect(cards(SOC)).toEqual([8501, 8502]);
  });

  it('refuses a bad rule with what is wrong, a non-responder, and a chat that is not a channel', async () => {
    expect(await say(SOC, MEGAN, 'subscribe severity>=Hgh')).toMatch(/^`Hgh` is not a severity; severities are Informational, Low, Medium, High, Critical \(at character 11\)\.\n\nA rule is `all`/);
    expect(await say(SOC, PATTI, 'subscribe all')).toMatch(/^Only responders may change which incidents a channel gets/);
    expect(await say(SOC, MEGAN, 'unsubscribe x')).toMatch(/^Give the number/);
    const before = connector.requests('POST', '/v3/conversations/:id/activities/:replyTo').length;
    await t.sendActivity({
      ...fixture<Record<string, unknown>>('test/fixtures/contracts/activity.message.personal.json'),
      serviceUrl: connector.url,
      text: 'subscribe all',
      attachments: [],
      from: { id: '29:MeganBowen', name: MEGAN.name, aadObjectId: MEGAN.id },
      channelData: { tenant: { id: TENANT_ID } },
    });
    const personal = (await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo', before + 1)).at(-1)!.body as { text: string };
    expect(personal.text).toMatch(/^Subscriptions belong to a channel Vigil is installed in/);
    const r = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM channel_routes');
    expect(r.rows[0]!.n).toBe(0);
    await post(incident(8301, 'Low'));
    expect(cards(SOC)).toEqual([8301]);
  });
});
