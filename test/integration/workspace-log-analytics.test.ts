import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { kqlLiterals, startLogAnalytics, type LogAnalyticsStandIn } from '../../sandbox/loganalytics';
import type { Db } from '../../src/store/db';
import { getIncident } from '../../src/store/incident-repository';
import { getIngestCursor } from '../../src/store/ingest-cursor-repository';
import { securityIncidentCursorOf } from '../../src/ingest/security-incident-pollers';
import { demoIncident } from '../helpers/fixtures';
import { botInstalledInTeam, personalMessage } from '../helpers/teams-activities';
import { openTestDb, resetDb, startTestApp, type TestApp } from '../helpers/test-app';

const CONTOSO_WS = '00000000-0000-0000-0000-000000000001';
const FABRIKAM_WS = '00000000-0000-0000-0000-000000000002';
/** Two workspaces: contoso is the sandbox's own (soc-workspace), fabrikam a second one with its own workspace id. */
const WORKSPACES = `workspaces:
  - name: contoso
    subscriptionId: 00000000-0000-0000-0000-000000000000
    resourceGroup: soc-rg
    workspaceName: soc-workspace
    workspaceId: ${CONTOSO_WS}
  - name: fabrikam
    subscriptionId: 00000000-0000-0000-0000-000000000000
    resourceGroup: fabrikam-rg
    workspaceName: fabrikam-ws
    workspaceId: ${FABRIKAM_WS}
`;
/** Megan Bowen sends Microsoft's example personal message; she is a responder by id. */
const MEGAN = '7faf8ab2-3d56-4244-b585-20c8a42ed2b8';
const QUERY = '/v1/workspaces/:id/query';

/** The demo's unfamiliar sign-in (bob.risky, 198.51.100.10), raised in the fabrikam workspace. */
const fabrikamIncident = () => {
  const body = demoIncident('unfamiliar-signin');
  body.object.id = body.object.id.replace('/resourceGroups/soc-rg/', '/resourceGroups/fabrikam-rg/').replace('/workspaces/soc-workspace/', '/workspaces/fabrikam-ws/');
  return body;
};

const cardText = (activity: Record<string, unknown>) => JSON.stringify((activity.attachments as Array<{ content: unknown }>)[0]!.content);

describe('several workspaces in Log Analytics', () => {
  let connector: BotConnectorStandIn;
  let la: LogAnalyticsStandIn;
  let db: Db;
  let t: TestApp;
  let file: string;

  beforeAll(async () => {
    [connector, la, db] = await Promise.all([startBotConnector(), startLogAnalytics(), openTestDb()]);
    file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ws-logs-')), 'workspaces.yaml');
    fs.writeFileSync(file, WORKSPACES);
  });
  afterAll(async () => {
    await Promise.all([connector.close(), la.close()]);
    await db.close();
  });
  beforeEach(async () => {
    connector.reset();
    la.reset();
    await resetDb(db);
    t = await startTestApp(
      { LOGS_ENDPOINT: la.url, VIGIL_POLL_SECURITY_INCIDENTS: 'on', VIGIL_KQL_TIMEOUT_SECONDS: '2', VIGIL_WORKSPACES_FILE: file, VIGIL_RESPONDER_USER_IDS: MEGAN },
      { db, poller: { intervalMs: 3_600_000 } },
    );
    await t.app.poller!.pollNow();
    expect((await t.sendActivity(botInstalledInTeam(connector.url))).status).toBeLessThan(300);
  });
  afterEach(async () => {
    await t.close();
  });

  /** The workspace id each query of `table` (or naming `literal`) was sent to. */
  const workspacesAsked = (match: (query: string) => boolean) =>
    la
      .requests('POST', QUERY)
      .filter((r) => match((r.body as { query: string }).query))
      .map((r) => r.path.split('/')[3]);

  it("polls each workspace's SecurityIncident table under its own cursor; incidents of both arrive with their workspace on the card", async () => {
    la.ingestIncident(demoIncident('brute-force-admin'), new Date(), CONTOSO_WS);
    la.ingestIncident(fabrikamIncident(), new Date(), FABRIKAM_WS);
    expect(await t.app.poller!.pollNow()).toEqual({ kind: 'polled', rows: 2, created: 2, updated: 0, unchanged: 0, malformed: 0 });

    expect(new Set(workspacesAsked((q) => q.includes('ingestion_time()')))).toEqual(new Set([CONTOSO_WS, FABRIKAM_WS]));
    expect((await getIncident(db, demoIncident('brute-force-admin').object.id))?.incident.workspace).toBe('contoso');
    const fabrikam = await getIncident(db, fabrikamIncident().object.id);
    expect(fabrikam?.incident.workspace).toBe('fabrikam');
    // The entities came from fabrikam's own SecurityAlert table.
    expect(fabrikam?.incident.entities.map((e) => e.value)).toContain('198.51.100.10');

    const posts = await connector.waitFor('POST', '/v3/conversations/:id/activities', 2);
    const cards = posts.map((p) => cardText(p.body as Record<string, unknown>));
    const card1043 = cards.find((c) => c.includes('Incident #1043'))!;
    const card1041 = cards.find((c) => c.includes('Incident #1041'))!;
    expect(card1043).toContain('fabrikam');
    expect(card1043).not.toContain('contoso ·');
    expect(card1041).toContain('contoso');

    // Each workspace keeps its own place in its table.
    for (const ws of [CONTOSO_WS, FABRIKAM_WS]) expect(await getIngestCursor(db, securityIncidentCursorOf(ws, true))).toBeDefined();
  });

  it("runs an incident's KQL look-ups in its own workspace", async () => {
    la.ingestIncident(demoIncident('brute-force-admin'), new Date(), CONTOSO_WS);
    la.ingestIncident(fabrikamIncident(), new Date(), FABRIKAM_WS);
    await t.app.poller!.pollNow();
    await t.app.enricher.idle();
    const about = (value: string) => workspacesAsked((q) => kqlLiterals(q).includes(value));
    // bob.risky and 198.51.100.10 are fabrikam's incident's; admin.jane and 203.0.113.66 contoso's.
    expect(about('198.51.100.10').length).toBeGreaterThan(0);
    expect(new Set([...about('198.51.100.10'), ...about('bob.risky@contoso.example')])).toEqual(new Set([FABRIKAM_WS]));
    expect(about('203.0.113.66').length).toBeGreaterThan(0);
    expect(new Set(about('203.0.113.66'))).toEqual(new Set([CONTOSO_WS]));
  });

  it('runs `kql` in the first workspace, or in the one `workspace=` names', async () => {
    const ask = async (text: string) => {
      const before = connector.requests('POST', '/v3/conversations/:id/activities/:replyTo').length;
      await t.sendActivity(personalMessage(connector.url, text));
      const replies = await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo', before + 1);
      const reply = replies.at(-1)!.body as { text?: string; attachments?: unknown[] };
      return `${reply.text ?? ''} ${JSON.stringify(reply.attachments ?? [])}`;
    };
    const signins = () => workspacesAsked((q) => q.startsWith('SigninLogs'));
    expect(await ask('kql workspace=fabrikam SigninLogs | take 2')).toContain('KQL · fabrikam · 2 rows');
    expect(signins()).toEqual([FABRIKAM_WS]);
    expect(await ask('kql SigninLogs | take 1')).toContain('KQL · contoso · 1 row');
    expect(signins()).toEqual([FABRIKAM_WS, CONTOSO_WS]);
    expect(await ask('kql workspace=northwind SigninLogs | take 1')).toContain('I know no workspace "northwind"; these are: contoso, fabrikam.');
    expect(signins()).toHaveLength(2);
  });
});
