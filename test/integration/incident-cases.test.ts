import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import type { Db } from '../../src/store/db';
import { actionEnv, ADELE, ALEX, buttonsOf, channelCard, click, eventually, from, ISAIAH, MEGAN } from '../helpers/actions-setup';
import { demoIncident, withProperties } from '../helpers/fixtures';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';
import { botInstalledInTeam } from '../helpers/teams-activities';
import { startTestApp, type TestApp } from '../helpers/test-app';

const CREATE = '/api/now/table/incident';
const BLOCKED_IP = '203.0.113.66';

describe.each(storeDrivers())('cases in ServiceNow and Jira for serious incidents on $name', (driver) => {
  let connector: BotConnectorStandIn;
  let sandboxes: Sandboxes;
  let db: Db;
  let drop: () => Promise<void>;
  let policyFile: string;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    [connector, sandboxes] = await Promise.all([startBotConnector(), startSandboxes(undefined, [demoIncident('brute-force-admin').object])]);
    ({ db, drop } = await driver.open());
    policyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cases-')), 'cases.yaml');
    fs.writeFileSync(policyFile, '# Critical → ServiceNow\nopen:\n  - { severity: [Critical] }\n');
  });
  afterAll(async () => {
    await Promise.all([connector.close(), sandboxes.close()]);
    await drop();
  });
  beforeEach(async () => {
    for (const s of [connector, ...sandboxes.all]) s.reset();
    sandboxes.arm.nsgRules.clear();
    sandboxes.putIncident(JSON.parse(JSON.stringify(demoIncident('brute-force-admin').object)));
    await emptyTables(db);
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  const start = async (policy = policyFile) => {
    const app = await startTestApp(
      { ...actionEnv(sandboxes), ...sandboxes.caseEnv.servicenow, ...(policy ? { VIGIL_CASE_POLICY_FILE: policy } : {}) },
      { db, workerPollMs: 50, jobs: { pollMs: 50, baseBackoffMs: 20, maxBackoffMs: 100 } },
    );
    apps.push(app);
    return app;
  };
  const setUp = async (app: TestApp) => {
    await app.sendActivity(botInstalledInTeam(connector.url));
    for (const who of [ALEX, MEGAN, ISAIAH, ADELE]) await app.sendActivity(from(connector.url, who, 'hello'));
  };
  const settle = async (...running: TestApp[]) => {
    for (const t of running) await t.app.enricher.idle();
    await Promise.all(running.map((t) => t.app.jobs.idle()));
    await Promise.all(running.map((t) => t.app.outbox.idle()));
  };
  const creates = () => sandboxes.serviceNow.requests('POST', CREATE);
  /** The record's number (the stand-in numbers on across tests). */
  const number = () => sandboxes.serviceNow.records('incident')[0]!.number;

  it('opens exactly one record for the Critical incident through a replay and a 503, shows its number, notes Block IP and resolves it on close', async () => {
    const app = await start();
    await setUp(app);
    // The first create is refused by a gateway: the job is retried, and looks before creating again.
    sandboxes.serviceNow.set({ fail: { count: 1, status: 503, method: 'POST', path: CREATE } });
    expect((await app.postIncident(demoIncident('brute-force-admin'))).status).toBe(202);
    await settle(app);
    expect((await app.postIncident(demoIncident('brute-force-admin'))).body.outcome).toBe('unchanged');
    await settle(app);

    expect(creates()).toHaveLength(2);
    const records = sandboxes.serviceNow.records('incident');
    expect(records).toHaveLength(1);
    const record = records[0]!;
    expect(record).toMatchObject({ number: expect.stringMatching(/^INC\d{7}$/), impact: '1', urgency: '1' });
    expect(record.short_description).toContain('Sentinel #1041');
    const card = JSON.stringify(channelCard(connector, 1041));
    expect(card).toContain(`🎫 ${record.number} in ServiceNow`);
    expect(card).toContain(`"type":"Action.OpenUrl","title":"Open ${record.number} in ServiceNow","url":"${sandboxes.serviceNow.url}/incident.do?sys_id=${record.sys_id}"`);

    // Block IP, requested and approved from the card: the outcome becomes a work note.
    const block = buttonsOf(channelCard(connector, 1041)).find((b) => b.verb === 'action.request' && b.title.includes('Block IP'))!;
    const requested = await click(app, connector.url, ALEX, 'action.request', block.data);
    const actionId = String(requested.text.match(/"action":"(\d+)"/)?.[1] ?? (await db.query<{ id: string }>('SELECT id FROM actions')).rows[0]!.id);
    await click(app, connector.url, MEGAN, 'action.approve', { action: actionId });
    await eventually('Block IP to succeed', async () => (await db.query<{ state: string }>('SELECT state FROM actions')).rows[0]?.state === 'succeeded');
    await settle(app);
    const notes = sandboxes.serviceNow.journal(record.sys_id!).filter((j) => j.element === 'work_notes');
    expect(notes).toHaveLength(1);
    expect(notes[0]!.value).toContain(`Vigil: Block IP ${BLOCKED_IP} — done`);
    expect(notes[0]!.value).toContain('Requested by Alex Wilber; approved by Megan Bowen.');

    // Closing the incident resolves the record, and the card says so.
    const closed = await click(app, connector.url, MEGAN, 'incident.close', { incident: 1041, classification: 'TruePositive/SuspiciousActivity', closeComment: 'Contained.' });
    expect(closed.text).toContain('Incident #1041 is closed as true positive.');
    await settle(app);
    expect(sandboxes.serviceNow.records('incident')[0]).toMatchObject({ state: '6', close_code: 'Solution provided' });
    expect(sandboxes.serviceNow.records('incident')[0]!.close_notes).toContain('Vigil: incident #1041 was closed in Sentinel (classified TruePositive)');
    expect(JSON.stringify(channelCard(connector, 1041))).toContain('in ServiceNow · resolved');
    expect(creates()).toHaveLength(2);
  });

  it('opens one record when two replicas on one database both see the incident', async () => {
    const [a, b] = [await start(), await start()];
    await setUp(a);
    await Promise.all([a.postIncident(demoIncident('brute-force-admin')), b.postIncident(demoIncident('brute-force-admin'))]);
    await settle(a, b);
    // A responder on each replica asks for the case too, while both job runners look.
    const key = (await db.query<{ key: string }>('SELECT key FROM incidents')).rows[0]!.key;
    await Promise.all([a.app.cases!.open(key, 'Alex Wilber'), b.app.cases!.open(key, 'Megan Bowen')]);
    await settle(a, b);
    expect(creates()).toHaveLength(1);
    expect(sandboxes.serviceNow.records('incident')).toHaveLength(1);
  });

  it('opens one by hand: "Open ticket" double-clicked across two replicas and `ticket 1041` make one record', async () => {
    const [a, b] = [await start(''), await start('')];
    await setUp(a);
    await a.postIncident(demoIncident('brute-force-admin'));
    await settle(a, b);
    // No policy: no case until a responder asks, and the card offers one.
    expect(creates()).toEqual([]);
    const open = buttonsOf(channelCard(connector, 1041)).find((x) => x.verb === 'case.open')!;
    expect(open.title).toBe('Open ticket');
    const clicks = await Promise.all([click(a, connector.url, MEGAN, 'case.open', open.data), click(b, connector.url, MEGAN, 'case.open', open.data)]);
    for (const c of clicks) expect(c.text).toContain('Opening a ServiceNow case; its number will be on the card.');
    // An outsider may not.
    expect((await click(a, connector.url, ADELE, 'case.open', open.data)).text).toMatch(/Only responders may open tickets/);
    await settle(a, b);
    const replies = () => connector.requests('POST', '/v3/conversations/:id/activities/:replyTo').map((r) => (r.body as { text?: string }).text);
    await a.sendActivity(from(connector.url, MEGAN, 'ticket 1041'));
    expect(await eventually('the reply to `ticket 1041`', () => replies().find((t) => t?.includes('#1041')))).toBe(`Incident #1041 already has ${number()} in ServiceNow.`);
    expect(creates()).toHaveLength(1);
    expect(sandboxes.serviceNow.records('incident')[0]!.description).toContain('Opened by Vigil: opened by');
    const card = channelCard(connector, 1041);
    expect(JSON.stringify(card)).toContain(`🎫 ${number()} in ServiceNow`);
    expect(buttonsOf(card).map((x) => x.verb)).not.toContain('case.open');
  });

  it('shows a record resolved in ServiceNow on the card at the incident’s next change', async () => {
    const app = await start();
    await setUp(app);
    await app.postIncident(demoIncident('brute-force-admin'));
    await settle(app);
    const record = sandboxes.serviceNow.records('incident')[0]!;
    expect(JSON.stringify(channelCard(connector, 1041))).not.toContain('· resolved');
    // Someone resolves it in ServiceNow; then Sentinel sends a change to the incident.
    sandboxes.serviceNow.update(record.sys_id!, { state: '6', close_code: 'Solution provided', close_notes: 'Done in ServiceNow.' });
    const later = new Date(Date.parse(demoIncident('brute-force-admin').object.properties.lastModifiedTimeUtc) + 60_000).toISOString();
    expect((await app.postIncident(withProperties(demoIncident('brute-force-admin'), { status: 'Active', lastModifiedTimeUtc: later }))).body.outcome).toBe('updated');
    await settle(app);
    expect(JSON.stringify(channelCard(connector, 1041))).toContain(`🎫 ${record.number} in ServiceNow · resolved`);
    expect(creates()).toHaveLength(1);
  });

  it('shows a record resolved in ServiceNow on the card by itself: the watch reads open cases again and redraws the card, with no change to the incident', async () => {
    const app = await startTestApp(
      { ...actionEnv(sandboxes), ...sandboxes.caseEnv.servicenow, VIGIL_CASE_POLICY_FILE: policyFile },
      { db, workerPollMs: 50, jobs: { pollMs: 50, baseBackoffMs: 20, maxBackoffMs: 100 }, caseWatchMs: 100 },
    );
    apps.push(app);
    await setUp(app);
    await app.postIncident(demoIncident('brute-force-admin'));
    await settle(app);
    const record = sandboxes.serviceNow.records('incident')[0]!;
    expect(JSON.stringify(channelCard(connector, 1041))).toContain(`🎫 ${record.number} in ServiceNow`);
    expect(JSON.stringify(channelCard(connector, 1041))).not.toContain('· resolved');
    const version = async () => (await db.query<{ version: number }>('SELECT version FROM incidents')).rows[0]!.version;
    const before = await version();
    const reads = () => sandboxes.serviceNow.requests('GET', `/api/now/table/incident/${record.sys_id}`).length;
    // While nothing changes, the watch reads the record again and redraws nothing.
    await eventually('the watch to read the open record twice', () => reads() >= 2);
    expect(await version()).toBe(before);
    // Someone resolves it in ServiceNow; Sentinel says nothing.
    sandboxes.serviceNow.update(record.sys_id!, { state: '6', close_code: 'Solution provided', close_notes: 'Done in ServiceNow.' });
    await eventually('the card at the Bot Connector to say resolved', () => JSON.stringify(channelCard(connector, 1041)).includes(`🎫 ${record.number} in ServiceNow · resolved`));
    expect(await version()).toBe(before + 1);
    // A resolved case is no longer watched.
    await settle(app);
    const after = reads();
    await new Promise((r) => setTimeout(r, 400));
    expect(reads()).toBe(after);
  });

  it('does the same in Jira: one issue, its key on the card, Block IP as a comment, Done on close', async () => {
    const app = await startTestApp(
      { ...actionEnv(sandboxes), ...sandboxes.caseEnv.jira, VIGIL_CASE_POLICY_FILE: policyFile },
      { db, workerPollMs: 50, jobs: { pollMs: 50, baseBackoffMs: 20, maxBackoffMs: 100 } },
    );
    apps.push(app);
    await setUp(app);
    sandboxes.jira.set({ fail: { count: 1, status: 503, method: 'POST', path: '/rest/api/3/issue' } });
    await app.postIncident(demoIncident('brute-force-admin'));
    await app.postIncident(demoIncident('brute-force-admin'));
    await settle(app);
    const issues = sandboxes.jira.issues();
    expect(issues).toHaveLength(1);
    // The 503 and the retry that looked first (by the correlation label) and then created it.
    expect(sandboxes.jira.requests('POST', '/rest/api/3/issue')).toHaveLength(2);
    expect(JSON.stringify(channelCard(connector, 1041))).toContain(`🎫 ${issues[0]!.key} in Jira`);
    const block = buttonsOf(channelCard(connector, 1041)).find((b) => b.verb === 'action.request' && b.title.includes('Block IP'))!;
    await click(app, connector.url, ALEX, 'action.request', block.data);
    const actionId = (await db.query<{ id: string }>('SELECT id FROM actions')).rows[0]!.id;
    await click(app, connector.url, MEGAN, 'action.approve', { action: actionId });
    await eventually('Block IP to succeed', async () => (await db.query<{ state: string }>('SELECT state FROM actions')).rows[0]?.state === 'succeeded');
    await settle(app);
    expect(sandboxes.jira.issues()[0]!.comments).toHaveLength(1);
    expect(JSON.stringify(sandboxes.jira.issues()[0]!.comments[0]!.body)).toContain(`Block IP ${BLOCKED_IP}`);
    await click(app, connector.url, MEGAN, 'incident.close', { incident: 1041, classification: 'TruePositive/SuspiciousActivity', closeComment: 'Contained.' });
    await settle(app);
    expect(sandboxes.jira.issues()[0]!.status).toMatchObject({ name: 'Done' });
    expect(JSON.stringify(channelCard(connector, 1041))).toContain('in Jira · resolved');
  });

  it('asks for the case in the incident’s own commit: a process that stops right after it still leaves the case.create job, and a replay adds none', async () => {
    // Sentinel's High opens a case at once (no wait for enrichment's assessment).
    const high = path.join(path.dirname(policyFile), 'high.yaml');
    fs.writeFileSync(high, 'open:\n  - { sentinelSeverity: [High] }\n');
    // The process "stops" the moment the incident's transaction commits: nothing it asks of the
    // database afterwards gets there (until the test lets it, to close it cleanly).
    const crash = stoppingAfterIncidentCommit(db);
    const app = await startTestApp({ ...sandboxes.caseEnv.servicenow, VIGIL_CASE_POLICY_FILE: high }, { db: crash.db, jobs: { pollMs: 50 } });
    apps.push(app);
    const jobs = () => db.query<{ key: string; payload: { because: string } }>(`SELECT key, payload FROM jobs WHERE kind = 'case.create'`);
    crash.arm();
    expect((await app.postIncident(demoIncident('brute-force-admin'))).status).toBe(202);
    const stored = (await db.query<{ key: string }>('SELECT key FROM incidents')).rows[0]!.key;
    expect((await jobs()).rows).toEqual([{ key: `case-create:${stored}`, payload: expect.objectContaining({ incidentKey: stored, because: 'the case policy: Sentinel severity High' }) }]);
    crash.resume();
    expect((await app.postIncident(demoIncident('brute-force-admin'))).body.outcome).toBe('unchanged');
    await settle(app);
    expect((await jobs()).rows).toHaveLength(1);
    expect(creates()).toHaveLength(1);
    expect(sandboxes.serviceNow.records('incident')).toHaveLength(1);
  });

  it('does not start with a broken case policy', async () => {
    const broken = path.join(path.dirname(policyFile), 'broken.yaml');
    fs.writeFileSync(broken, 'open:\n  - { severity: [Severe] }\n');
    await expect(startTestApp({ ...sandboxes.env, ...sandboxes.caseEnv.servicenow, VIGIL_CASE_POLICY_FILE: broken }, { db })).rejects.toThrow(/broken\.yaml line 2/);
  });
});

/**
 * `db` as a process sees it that stops right after committing an incident (once armed): every
 * later statement waits, as if the process were gone, until `resume` lets them through.
 */
function stoppingAfterIncidentCommit(db: Db) {
  let armed = false;
  let stopped = false;
  const held: Array<() => void> = [];
  const gate = () => (stopped ? new Promise<void>((r) => held.push(r)) : Promise.resolve());
  const wrapped: Db = {
    driver: db.driver,
    query: async (sql, params) => {
      await gate();
      return db.query(sql, params);
    },
    exec: async (sql) => {
      await gate();
      return db.exec(sql);
    },
    transaction: async (fn) => {
      await gate();
      let storedIncident = false;
      const result = await db.transaction((tx) =>
        fn({
          query: (sql, params) => {
            if (/INSERT INTO incidents/i.test(sql)) storedIncident = true;
            return tx.query(sql, params);
          },
          exec: (sql) => tx.exec(sql),
        }),
      );
      if (armed && storedIncident) stopped = true;
      return result;
    },
    close: () => db.close(),
  };
  return {
    db: wrapped,
    arm: () => (armed = true),
    resume: () => {
      armed = stopped = false;
      for (const r of held.splice(0)) r();
    },
  };
}
