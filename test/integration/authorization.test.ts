import path from 'node:path';
import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import type { Access } from '../../src/auth/access';
import { commands, type CommandName } from '../../src/bot/commands';
import { verbGates, verbs, type Verb } from '../../src/bot/verbs';
import type { Db } from '../../src/store/db';
import { demoIncident } from '../helpers/fixtures';
import { botInstalledInTeam } from '../helpers/teams-activities';
import { openTestDb, startTestApp, TENANT_ID, type TestApp } from '../helpers/test-app';
import { actionEnv, ADELE, click, from, MEGAN, type Person } from '../helpers/actions-setup';

/** In no group, on no list, on no schedule: the same tenant, but nobody Vigil serves. */
const PATTI: Person = { id: 'a1b2c3d4-0000-4000-8000-000000000024', name: 'Patti Fernandez' };
const OTHER_TENANT = '11111111-2222-4333-8444-555555555555';
const FOREIGN = 'Vigil works only for people in its own organisation (Microsoft Entra tenant).';

/**
 * Every chat command and every card verb: who may use it, and an example use. A command or verb
 * added without a line here fails the first test. Megan Bowen is a responder (the sandbox group),
 * Adele Vance only stands on the on-call schedule, Patti Fernandez is an outsider.
 */
const COMMANDS: Record<CommandName, { access: Access; text: string }> = {
  help: { access: 'anyone', text: 'help' },
  incidents: { access: 'staff', text: 'incidents' },
  incident: { access: 'staff', text: 'incident 1042' },
  entities: { access: 'staff', text: 'entities 1042' },
  enrich: { access: 'staff', text: 'enrich 203.0.113.66' },
  kql: { access: 'responder', text: 'kql SigninLogs | take 1' },
  oncall: { access: 'oncall', text: 'oncall' },
  page: { access: 'oncall', text: 'page 1042' },
  ack: { access: 'oncall', text: 'ack 1042' },
  block: { access: 'staff', text: 'block 203.0.113.66 for 1042' },
  isolate: { access: 'staff', text: 'isolate web-01' },
  disable: { access: 'staff', text: 'disable bob.risky@contoso.example' },
  indicator: { access: 'staff', text: 'indicator evil.example' },
  actions: { access: 'staff', text: 'actions' },
  audit: { access: 'staff', text: 'audit 1042' },
  stats: { access: 'staff', text: 'stats' },
  assign: { access: 'responder', text: 'assign 1042' },
  comment: { access: 'responder', text: 'comment 1042 looked at it' },
  close: { access: 'responder', text: 'close 1042 bp' },
  subscribe: { access: 'responder', text: 'subscribe severity>=High' },
  subscriptions: { access: 'staff', text: 'subscriptions' },
  unsubscribe: { access: 'responder', text: 'unsubscribe' },
  ticket: { access: 'responder', text: 'ticket 1042' },
};

const VERBS: Record<Verb, { access: Access; data: Record<string, unknown> }> = {
  'action.request': { access: 'staff', data: { incident: 1042, option: 'none' } },
  'action.approve': { access: 'staff', data: { action: '00000000-0000-4000-8000-000000000001' } },
  'action.reject': { access: 'staff', data: { action: '00000000-0000-4000-8000-000000000001' } },
  'action.cancel': { access: 'staff', data: { action: '00000000-0000-4000-8000-000000000001' } },
  'action.undo': { access: 'staff', data: { action: '00000000-0000-4000-8000-000000000001' } },
  'card.refresh': { access: 'staff', data: { incident: 1042 } },
  'digest.open': { access: 'staff', data: { incident: 1042 } },
  'digest.show': { access: 'staff', data: { digest: 1 } },
  'incident.assign': { access: 'responder', data: { incident: 1042 } },
  'incident.comment': { access: 'responder', data: { incident: 1042, comment: 'seen' } },
  'incident.close': { access: 'responder', data: { incident: 1042, classification: 'BenignPositive/SuspiciousButExpected' } },
  'page.ack': { access: 'oncall', data: { page: '1' } },
  'page.snooze': { access: 'oncall', data: { page: '1', snoozeMinutes: '30' } },
  'page.reassign': { access: 'oncall', data: { page: '1' } },
  'case.open': { access: 'responder', data: { incident: 1042 } },
};

const REFUSAL = /^Only .+ may .+, and .+\.$/;

describe('authorization on every command and every card verb', () => {
  let connector: BotConnectorStandIn;
  let sandboxes: Sandboxes;
  let db: Db;
  let t: TestApp;

  beforeAll(async () => {
    [connector, sandboxes] = await Promise.all([startBotConnector(), startSandboxes()]);
    db = await openTestDb();
    t = await startTestApp({ ...actionEnv(sandboxes), VIGIL_ONCALL_FILE: path.resolve(__dirname, '../fixtures/oncall.yaml'), MicrosoftAppTenantId: TENANT_ID }, { db });
    await t.sendActivity(botInstalledInTeam(connector.url));
    await t.postIncident(demoIncident('powershell-web-01'));
    await t.app.enricher.idle();
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([connector.close(), sandboxes.close()]);
    await db.close();
  });

  /** From another tenant: the same person and conversation, with the tenant Teams names for it changed. */
  const foreign = (activity: Record<string, unknown>) => ({
    ...activity,
    channelData: { tenant: { id: OTHER_TENANT } },
    conversation: { ...(activity.conversation as object), tenantId: OTHER_TENANT },
  });

  const reply = async (activity: Record<string, unknown>): Promise<string> => {
    const before = connector.requests('POST', '/v3/conversations/:id/activities/:replyTo').length;
    await t.sendActivity(activity);
    const body = (await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo', before + 1)).at(-1)!.body as { text?: string; attachments?: unknown[] };
    return body.text ?? JSON.stringify(body.attachments);
  };
  const say = (who: Person, text: string) => reply(from(connector.url, who, text));

  const invoke = async (activity: Record<string, unknown>) => {
    const res = await t.sendActivity(activity);
    const body = JSON.parse(res.body) as { statusCode: number; value: { message?: string } };
    return { statusCode: body.statusCode, message: body.value?.message ?? '' };
  };
  const clickAs = (who: Person, verb: string, data: Record<string, unknown>, tenant?: string) =>
    tenant
      ? invoke(foreign({ ...from(connector.url, who), type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' } }))
      : click(t, connector.url, who, verb, data).then((r) => ({ statusCode: r.statusCode, message: (r.card?.message as string | undefined) ?? '' }));

  it('has a line for every command and every verb, and it says what the code enforces', () => {
    expect(Object.keys(COMMANDS).sort()).toEqual(Object.keys(commands).sort());
    expect(Object.keys(VERBS).sort()).toEqual(Object.keys(verbs).sort());
    for (const [name, c] of Object.entries(COMMANDS)) expect([name, commands[name as CommandName].gate.access]).toEqual([name, c.access]);
    for (const [verb, v] of Object.entries(VERBS)) expect([verb, verbGates[verb as Verb].access]).toEqual([verb, v.access]);
  });

  it.each(Object.entries(COMMANDS))('`%s`: a responder is answered, an outsider refused by name, another tenant refused', async (name, c) => {
    const asResponder = await say(MEGAN, c.text);
    expect(asResponder).not.toMatch(REFUSAL);
    expect(asResponder).not.toBe(FOREIGN);
    const asOutsider = await say(PATTI, c.text);
    if (c.access === 'anyone') expect(asOutsider).toContain('What Vigil can do');
    else expect(asOutsider).toMatch(REFUSAL);
    if (c.access === 'responder') expect(asOutsider).toMatch(/^Only responders may .+, and you are not a member of a responder group\.$/);
    if (c.access === 'staff')
      expect(asOutsider).toMatch(
        /^Only responders and those who may request or approve actions may .+, and you are not a member of a responder group and you may not request or approve any action\.$/,
      );
    // The on-call schedule alone opens oncall, page and ack, nothing else.
    const asOnCall = await say(ADELE, c.text);
    if (c.access === 'oncall' || c.access === 'anyone') expect(asOnCall).not.toMatch(REFUSAL);
    else expect(asOnCall).toMatch(REFUSAL);
    expect(await reply(foreign(from(connector.url, MEGAN, c.text)))).toBe(FOREIGN);
  });

  it.each(Object.entries(VERBS))('`%s`: a responder gets past the gate, an outsider and another tenant get 403', async (verb, v) => {
    const asResponder = await clickAs(MEGAN, verb, v.data);
    expect(asResponder.statusCode).not.toBe(403);
    const asOutsider = await clickAs(PATTI, verb, v.data);
    expect(asOutsider.statusCode).toBe(403);
    expect(asOutsider.message).toMatch(REFUSAL);
    const asOnCall = await clickAs(ADELE, verb, v.data);
    expect(asOnCall.statusCode === 403).toBe(v.access !== 'oncall');
    expect(await clickAs(MEGAN, verb, v.data, OTHER_TENANT)).toEqual({ statusCode: 403, message: FOREIGN });
  });

  it('left no trace of the outsiders: nothing they asked for reached Log Analytics, Sentinel, Azure or the store', async () => {
    const byOutsiders = await db.query<{ action: string }>(`SELECT action FROM audit WHERE actor = ANY($1)`, [[PATTI.id, ADELE.id]]);
    // Adele, on call, acknowledged and paged; Patti did nothing at all.
    expect(byOutsiders.rows.every((r) => r.action.startsWith('page.'))).toBe(true);
    expect((await db.query(`SELECT 1 FROM actions WHERE requested_by = ANY($1)`, [[PATTI.id, ADELE.id]])).rowCount).toBe(0);
    expect((await db.query(`SELECT 1 FROM audit WHERE actor = $1`, [PATTI.id])).rowCount).toBe(0);
    // Only the responder's one query ran.
    expect(sandboxes.logAnalytics.requests('POST').filter((r) => JSON.stringify(r.body).includes('SigninLogs | take 1'))).toHaveLength(1);
  });

  it('kql refuses control commands, also after comments and blank lines, and says why', async () => {
    const before = sandboxes.logAnalytics.requests('POST').length;
    for (const query of ['.drop table SigninLogs', '  // tidy up\n\n  .set-or-append T <| print 1', 'SigninLogs | take 1; .drop table SigninLogs']) {
      expect(await say(MEGAN, `kql ${query}`)).toMatch(
        /^Refused: "\.(drop|set-or-append)" is a Kusto control command \(it starts with a dot\), which can change or delete data; `kql` runs read-only queries only\.$/,
      );
    }
    expect(sandboxes.logAnalytics.requests('POST')).toHaveLength(before);
  });
});
