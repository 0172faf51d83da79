import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { demoUnifiedIncident } from '../../sandbox/graph-security-data';
import { startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import { startStandIn } from '../../sandbox/stand-in';
import { createGraphClient } from '../../src/graph/graph-client';
import { createGraphSecurityClient } from '../../src/graph/graph-security-client';
import { createGraphIncidentPoller, GRAPH_INCIDENT_CURSOR } from '../../src/ingest/graph-incident-poller';
import { createLogger } from '../../src/logger';
import type { Db } from '../../src/store/db';
import { getIncident } from '../../src/store/incident-repository';
import { getIngestCursor } from '../../src/store/ingest-cursor-repository';
import { actionEnv, ALEX, buttonsOf, channelCard, click, eventually, MEGAN } from '../helpers/actions-setup';
import { botInstalledInTeam } from '../helpers/teams-activities';
import { openTestDb, resetDb, startTestApp, type TestApp } from '../helpers/test-app';

const INCIDENT = '/v1.0/security/incidents/:id';
const LIST = '/v1.0/security/incidents';

/** A unified incident updated just now (inside the poller's first lookback), under an id of its own. */
const fresh = (id: string) => demoUnifiedIncident(id, new Date().toISOString());

describe('Defender unified incidents through Microsoft Graph', () => {
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
    await resetDb(db);
    connector.reset();
    sandboxes.graph.reset();
    sandboxes.graphSecurity.clear();
    // The timer is an hour: the tests decide when it polls.
    t = await startTestApp({ ...actionEnv(sandboxes), VIGIL_POLL_GRAPH_INCIDENTS: 'on' }, { db, poller: { intervalMs: 3_600_000, pageSize: 2 } });
    await t.app.graphPoller!.pollNow();
    await t.sendActivity(botInstalledInTeam(connector.url));
  });
  afterEach(() => t.close());

  it('polls a unified incident into a card whose entities come from its alerts’ evidence, with a link to Defender', async () => {
    sandboxes.graphSecurity.putIncident(fresh('4001'));
    expect(await t.app.graphPoller!.pollNow()).toEqual({ kind: 'polled', rows: 1, created: 1, updated: 0, unchanged: 0, malformed: 0 });
    const [list] = sandboxes.graph.requests('GET', LIST).slice(-1);
    expect(list!.query.$expand).toBe('alerts');
    expect(list!.query.$filter).toMatch(/^lastUpdateDateTime ge \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    await connector.waitFor('POST', '/v3/conversations/:id/activities');
    await t.app.enricher.idle();
    await t.app.outbox.idle();
    const card = JSON.stringify(channelCard(connector, 4001));
    for (const shown of ['Incident #4001', '203.0.113.66', 'bob.risky@contoso.example', 'web-01.contoso.example', 'Microsoft SharePoint Online', 'T1566.002', 'Open in Defender']) {
      expect(card).toContain(shown);
    }
    expect(card).toContain('https://security.microsoft.com/incidents/4001?tid=b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c');
    const stored = (await getIncident(db, 'graph:4001'))!.incident;
    expect(stored).toMatchObject({ id: '4001', writeBack: 'graph', status: 'New', severity: 'High', alertCount: 3 });
    expect(stored.entities.map((e) => e.kind)).toEqual(['mailbox', 'account', 'url', 'host', 'file', 'filehash', 'filehash', 'process', 'file', 'ip', 'cloudapp']);
  });

  it('closing from the card as a true positive PATCHes status, classification and determination, and its comment arrives through Graph', async () => {
    sandboxes.graphSecurity.putIncident(fresh('4002'));
    await t.app.graphPoller!.pollNow();
    await connector.waitFor('POST', '/v3/conversations/:id/activities');
    await t.app.outbox.idle();
    // A responder's card offers Defender's classifications with their determinations.
    const mine = await click(t, connector.url, MEGAN, 'card.refresh', { incident: 4002 });
    expect(mine.text).toContain('"title":"True positive — multistage attack","value":"truePositive/multiStagedAttack"');
    expect(mine.text).not.toContain('TruePositive/SuspiciousActivity');

    const answer = await click(t, connector.url, MEGAN, 'incident.close', { incident: 4002, classification: 'truePositive/multiStagedAttack', closeComment: 'Mailbox rule removed, device isolated' });
    expect(answer.text).toContain('Incident #4002 is closed as true positive (multistage attack)');
    const patches = sandboxes.graph.requests('PATCH', INCIDENT);
    expect(patches.map((p) => [p.path, p.body])).toEqual([['/v1.0/security/incidents/4002', { status: 'resolved', classification: 'truePositive', determination: 'multiStagedAttack' }]]);
    expect(sandboxes.graph.requests('POST', `${INCIDENT}/comments`).map((r) => r.body)).toEqual([
      { '@odata.type': 'microsoft.graph.security.alertComment', comment: 'Closed by Megan Bowen via Vigil as true positive (multistage attack): Mailbox rule removed, device isolated' },
    ]);
    expect(sandboxes.graphSecurity.getIncident('4002')).toMatchObject({ status: 'resolved', classification: 'truePositive', determination: 'multiStagedAttack' });
    // The store has Graph's answer, with the alerts' entities it had.
    const stored = (await getIncident(db, 'graph:4002'))!.incident;
    expect(stored).toMatchObject({ status: 'Closed', classification: 'TruePositive', determination: 'multiStagedAttack', alertCount: 3 });
    expect(stored.entities).toHaveLength(11);
    // Nothing went to Sentinel.
    expect(sandboxes.arm.requests('PUT')).toEqual([]);
  });

  it('assigns by the analyst’s UPN and comments through Graph; a merged incident is refused before anything is written', async () => {
    sandboxes.graphSecurity.putIncident(fresh('4003'));
    await t.app.graphPoller!.pollNow();
    expect((await click(t, connector.url, MEGAN, 'incident.assign', { incident: 4003 })).text).toContain('assigned to you');
    expect(sandboxes.graph.requests('PATCH', INCIDENT).map((r) => r.body)).toEqual([{ assignedTo: 'megan.bowen@contoso.example' }]);
    expect((await click(t, connector.url, MEGAN, 'incident.comment', { incident: 4003, comment: 'looking' })).text).toContain('on the incident in Defender');
    expect(sandboxes.graphSecurity.comments('4003').map((c) => c.comment)).toEqual(['Megan Bowen (via Vigil): looking']);

    sandboxes.graphSecurity.putIncident({ ...fresh('4003'), status: 'redirected', redirectIncidentId: '4100' });
    const refused = await click(t, connector.url, MEGAN, 'incident.close', { incident: 4003, classification: 'falsePositive/notMalicious' });
    expect(refused.text).toContain('merged this incident into incident 4100');
    expect(sandboxes.graph.requests('PATCH', INCIDENT)).toHaveLength(1);
  });

  it('does not undo what someone decided in Defender after the card was drawn: another owner, another classification', async () => {
    sandboxes.graphSecurity.putIncident(fresh('4004'));
    await t.app.graphPoller!.pollNow();
    // Meanwhile, in the Defender portal (Vigil has not polled since).
    sandboxes.graphSecurity.putIncident({ ...fresh('4004'), assignedTo: 'KaiC@contoso.onmicrosoft.com', classification: 'falsePositive', determination: 'notMalicious' });
    expect((await click(t, connector.url, MEGAN, 'incident.assign', { incident: 4004 })).text).toContain('KaiC@contoso.onmicrosoft.com took this incident in Defender after the card was drawn');
    const closing = await click(t, connector.url, MEGAN, 'incident.close', { incident: 4004, classification: 'truePositive/malware' });
    expect(closing.text).toContain('someone classified this incident in Defender (FalsePositive, notMalicious) after the card was drawn');
    expect(sandboxes.graph.requests('PATCH', INCIDENT)).toEqual([]);
    expect(sandboxes.graphSecurity.comments('4004')).toEqual([]);
    // Once Vigil has seen the change, the analyst decides knowing it.
    await t.app.graphPoller!.pollNow();
    await click(t, connector.url, MEGAN, 'incident.close', { incident: 4004, classification: 'falsePositive/notMalicious' });
    expect(sandboxes.graph.requests('PATCH', INCIDENT).map((r) => r.body)).toEqual([{ status: 'resolved', classification: 'falsePositive', determination: 'notMalicious' }]);
  });

  it('reads every page, keeps a durable cursor, and re-reads the overlap without a second card', async () => {
    for (const id of ['4011', '4012', '4013']) sandboxes.graphSecurity.putIncident(fresh(id));
    expect(await t.app.graphPoller!.pollNow()).toMatchObject({ kind: 'polled', rows: 3, created: 3 });
    // The last poll's two pages: the second by the first's @odata.nextLink.
    const pages = sandboxes.graph.requests('GET', LIST).slice(-2);
    expect(pages.map((p) => p.query.$skip)).toEqual([undefined, '2']);
    const cursor = (await getIngestCursor(db, GRAPH_INCIDENT_CURSOR))!.position;
    expect(cursor.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(await t.app.graphPoller!.pollNow()).toMatchObject({ kind: 'polled', rows: 3, created: 0, unchanged: 3 });
    await eventually('three cards', () => connector.requests('POST', '/v3/conversations/:id/activities').length >= 3);
    await t.app.outbox.idle();
    expect(connector.requests('POST', '/v3/conversations/:id/activities')).toHaveLength(3);
  });

  it('an action on a Defender incident leaves its comment and tag on the incident through Graph, not in Sentinel', async () => {
    sandboxes.graphSecurity.putIncident(fresh('4031'));
    await t.app.graphPoller!.pollNow();
    await connector.waitFor('POST', '/v3/conversations/:id/activities');
    await t.app.enricher.idle();
    await t.app.outbox.idle();
    const block = buttonsOf(channelCard(connector, 4031)).find((b) => b.verb === 'action.request' && b.title.includes('Block hash 275a021bbfb6'))!;
    expect((await click(t, connector.url, ALEX, 'action.request', block.data)).statusCode).toBe(200);
    const view = await click(t, connector.url, MEGAN, 'card.refresh', { incident: 4031 }, 'automatic');
    await click(t, connector.url, MEGAN, 'action.approve', buttonsOf(view.card).find((b) => b.title === 'Approve')!.data);
    const [comment] = await eventually('the comment in Defender', () => sandboxes.graphSecurity.comments('4031').length > 0 && sandboxes.graphSecurity.comments('4031'));
    expect(comment!.comment).toMatch(/^Vigil: .*275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f — done in [\d.]+ s\.\nRequested by Alex Wilber; approved by Megan Bowen\./);
    await eventually('the tag in Defender', () => (sandboxes.graphSecurity.getIncident('4031')!.customTags as string[]).includes('Vigil: hash blocked'));
    expect(sandboxes.graphSecurity.getIncident('4031')!.customTags).toEqual(['Demo', 'Vigil: hash blocked']);
    expect(sandboxes.arm.requests('PUT').filter((r) => r.path.includes('Microsoft.SecurityInsights'))).toEqual([]);
  });

  it('skips an incident that is not one (counted, by field name), stores the rest, and never follows a next link off Graph', async () => {
    sandboxes.graphSecurity.putIncident(fresh('4041'));
    sandboxes.graphSecurity.putIncident({ ...fresh('4042'), createdDateTime: 'yesterday', displayName: { $gt: '' } });
    expect(await t.app.graphPoller!.pollNow()).toMatchObject({ kind: 'polled', rows: 2, created: 1, malformed: 1 });
    expect(await getIncident(db, 'graph:4042')).toBeUndefined();

    const hostile = await startStandIn('graph', [
      { method: 'GET', path: '/v1.0/security/incidents', handle: () => ({ status: 200, body: { value: [], '@odata.nextLink': 'https://evil.example/v1.0/security/incidents?$skip=2' } }) },
    ]);
    try {
      const client = createGraphSecurityClient({ graph: createGraphClient({ baseUrl: hostile.url, timeoutMs: 2000 }) });
      const pages: unknown[][] = [];
      await expect(
        (async () => {
          for await (const page of client.incidentsUpdatedSince(new Date(), 50)) pages.push(page);
        })(),
      ).rejects.toThrow('refusing to send a request for Microsoft Graph outside its endpoint');
      expect(pages).toEqual([[]]);
      expect(hostile.requests()).toHaveLength(1);
    } finally {
      await hostile.close();
    }
  });

  it('polls from one replica at a time: a second one is busy while the first holds the lease, and takes over once it is given up', async () => {
    const client = createGraphSecurityClient({ graph: createGraphClient({ baseUrl: sandboxes.graph.url, timeoutMs: 2000 }) });
    const other = createGraphIncidentPoller({ client, ingest: { db, onChange: () => undefined }, logger: createLogger('silent'), intervalMs: 3_600_000, lookbackMs: 3_600_000, overlapMs: 0 });
    sandboxes.graphSecurity.putIncident(fresh('4021'));
    expect(await other.pollNow()).toEqual({ kind: 'busy' });
    const listed = sandboxes.graph.requests('GET', LIST).length;
    await t.close();
    expect(await other.pollNow()).toMatchObject({ kind: 'polled', created: 1 });
    expect(sandboxes.graph.requests('GET', LIST)).toHaveLength(listed + 1);
    await other.stop();
    t = await startTestApp({ ...actionEnv(sandboxes), VIGIL_POLL_GRAPH_INCIDENTS: 'on' }, { db, poller: { intervalMs: 3_600_000 } });
  });

  it('the stand-in answers like Graph: 404 in its envelope, and a determination that does not fit the classification refused', async () => {
    const res = await fetch(`${sandboxes.graph.url}/v1.0/security/incidents/999`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'NotFound', message: expect.any(String), innerError: { 'request-id': expect.any(String) } } });
    sandboxes.graphSecurity.putIncident(demoUnifiedIncident());
    const patch = (body: unknown) => fetch(`${sandboxes.graph.url}/v1.0/security/incidents/3962396`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await patch({ classification: 'falsePositive', determination: 'malware' })).status).toBe(400);
    expect((await patch({ status: 'inProgress' })).status).toBe(400);
    expect((await patch({ severity: 'high', title: 'x' })).status).toBe(400);
    expect((await patch({ classification: 'informationalExpectedActivity', determination: 'securityTesting' })).status).toBe(200);
  });
});
