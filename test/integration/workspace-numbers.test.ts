import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import type { Db } from '../../src/store/db';
import { actionEnv, buttonsOf, click, eventually, MEGAN, says } from '../helpers/actions-setup';
import { demoIncident, withProperties } from '../helpers/fixtures';
import { botInstalledInTeam } from '../helpers/teams-activities';
import { openTestDb, resetDb, startTestApp, type TestApp } from '../helpers/test-app';

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

/** Incident 1041 of contoso (the newer one: a bare number would find it) and of fabrikam. */
const contoso1041 = () => {
  const body = withProperties(demoIncident('unfamiliar-signin'), { incidentNumber: 1041, createdTimeUtc: '2026-11-24T01:40:00Z', lastModifiedTimeUtc: '2026-11-24T01:40:00Z' });
  body.object.id = body.object.id.replace(/[^/]+$/, 'numbers-1041');
  body.object.name = 'numbers-1041';
  return body;
};
const fabrikam1041 = () => {
  const body = withProperties(demoIncident('unfamiliar-signin'), { incidentNumber: 1041, severity: 'Medium' });
  body.object.id = body.object.id
    .replace(/[^/]+$/, 'numbers-1041')
    .replace('/resourceGroups/soc-rg/', '/resourceGroups/fabrikam-rg/')
    .replace('/workspaces/soc-workspace/', '/workspaces/fabrikam-ws/');
  body.object.name = 'numbers-1041';
  body.workspaceInfo = { ...body.workspaceInfo, ResourceGroupName: 'fabrikam-rg', WorkspaceName: 'fabrikam-ws' };
  return body;
};

describe('two workspaces’ incident 1041: wherever Vigil names an incident by number it says whose', () => {
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
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-numbers-')), 'workspaces.yaml');
    fs.writeFileSync(file, WORKSPACES);
    t = await startTestApp({ ...actionEnv(sandboxes), VIGIL_WORKSPACES_FILE: file }, { db });
    expect((await t.sendActivity(botInstalledInTeam(connector.url))).status).toBeLessThan(300);
    for (const body of [fabrikam1041(), contoso1041()]) {
      sandboxes.putIncident(body.object);
      expect((await t.postIncident(body)).status).toBe(202);
    }
    await t.app.enricher.idle();
    await t.app.outbox.idle();
  });
  afterEach(() => t.close());

  /** Megan's 1:1 chat: the reply Vigil sent. */
  const ask = async (text: string) => {
    const before = connector.requests('POST', '/v3/conversations/:id/activities/:replyTo').length;
    await t.sendActivity(says(connector.url, MEGAN, text));
    return (await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo', before + 1)).at(-1)!.body as { text?: string; attachments?: Array<{ content: unknown }> };
  };

  it('lists them as contoso/1041 and fabrikam/1041', async () => {
    const list = JSON.stringify((await ask('incidents')).attachments);
    expect(list).toContain('**contoso/1041**');
    expect(list).toContain('**fabrikam/1041**');
    expect(list).not.toContain('**#1041**');
  });

  it('a card shown in a chat reply names its workspace on every button, so its Assign to me writes that workspace’s incident', async () => {
    const reply = await ask('incident fabrikam/1041');
    const buttons = buttonsOf(reply.attachments![0]!.content);
    const assign = buttons.find((b) => b.verb === 'incident.assign')!;
    expect(assign.data).toEqual({ incident: 1041, workspace: 'fabrikam' });
    for (const b of buttons.filter((x) => 'incident' in x.data)) expect(b.data.workspace).toBe('fabrikam');
    // The reply is no card Vigil posted in a channel: only the button says whose 1041 it is.
    const answer = await click(t, connector.url, MEGAN, 'incident.assign', assign.data);
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('Incident fabrikam/1041 is assigned to you.');
    const put = await eventually('the assignment written', () => sandboxes.arm.requests('PUT').find((r) => r.path.includes('/incidents/numbers-1041') && !r.path.includes('/comments/')));
    expect(put.path).toContain('/resourceGroups/fabrikam-rg/providers/Microsoft.OperationalInsights/workspaces/fabrikam-ws/');
  });

  it('a digest line’s Open (and any button) with its workspace opens that workspace’s incident', async () => {
    const opened = await click(t, connector.url, MEGAN, 'digest.open', { incident: '1041', workspace: 'fabrikam' });
    expect(opened.text).toContain('fabrikam · ');
    expect(opened.text).toContain('MEDIUM');
    const bare = await click(t, connector.url, MEGAN, 'digest.open', { incident: '1041' });
    expect(bare.text).toContain('contoso · ');
  });

  it('says the workspace in chat replies about one incident', async () => {
    expect((await ask('comment fabrikam/1041 checked with the fabrikam SOC')).text).toBe('Your comment is on incident fabrikam/1041 in Sentinel.');
    expect(JSON.stringify((await ask('entities contoso/1041')).attachments)).toContain('Entities · incident contoso/1041');
  });
});
