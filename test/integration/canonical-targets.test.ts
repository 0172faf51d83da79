import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { SANDBOX_SUBSCRIPTION, vmId } from '../../sandbox/arm';
import { startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import type { Db } from '../../src/store/db';
import { demoIncident, withProperties } from '../helpers/fixtures';
import { botInstalledInTeam } from '../helpers/teams-activities';
import { openTestDb, resetDb, startTestApp, type TestApp } from '../helpers/test-app';
import { actionEnv, ADELE, ALEX, buttonsOf, channelCard, click, eventually, from, ISAIAH, MEGAN, type Person } from '../helpers/actions-setup';

/** The tests' policy protects breakglass@contoso.example by UPN only; Graph knows it by this object id. */
const BREAKGLASS = { id: '5f0c6a1e-2b7d-4e1a-9c3d-0000000000bb', upn: 'breakglass@contoso.example' };
const PROTECTED = 'Refused: breakglass@contoso.example is a protected account (break-glass or listed admin) and is never disabled by Vigil.';

describe('targets are canonical before any guardrail: each bypass of issue 11 is refused', () => {
  let connector: BotConnectorStandIn;
  let sandboxes: Sandboxes;
  let db: Db;
  let t: TestApp;

  beforeAll(async () => {
    [connector, sandboxes] = await Promise.all([startBotConnector(), startSandboxes()]);
    db = await openTestDb();
    sandboxes.graph.users.push({ id: BREAKGLASS.id, displayName: 'Break Glass', userPrincipalName: BREAKGLASS.upn, jobTitle: null, department: 'IT', accountEnabled: true });
    // A protected VM Defender knows under another name, and one tagged vigil-protected that no list names.
    sandboxes.arm.vms.push({ name: 'sql-01', power: 'running', nic: 'sql-01-nic', nsg: 'web-nsg', privateIp: '10.1.0.30', tags: { 'vigil-protected': 'true' } });
    const azure = (name: string) => ({ vmId: `vm-${name}`, cloudProvider: 'Azure' as const, resourceId: vmId(name), subscriptionId: SANDBOX_SUBSCRIPTION });
    sandboxes.defender.machines.push(
      { id: 'a'.repeat(40), computerDnsName: 'sql-01.contoso.example', healthStatus: 'Active', riskScore: 'Medium', exposureLevel: 'Low', vmMetadata: azure('sql-01') },
      { id: 'b'.repeat(40), computerDnsName: 'dirsvc.contoso.example', healthStatus: 'Active', riskScore: 'Medium', exposureLevel: 'Low', vmMetadata: azure('dc-01') },
    );
  });
  afterAll(async () => {
    await Promise.all([connector.close(), sandboxes.close()]);
    await db.close();
  });
  beforeEach(async () => {
    for (const s of [connector, ...sandboxes.all]) s.reset();
    await resetDb(db);
    t = await startTestApp(actionEnv(sandboxes), { db, workerPollMs: 50 });
    await t.sendActivity(botInstalledInTeam(connector.url));
    for (const who of [ALEX, MEGAN, ISAIAH, ADELE]) await t.sendActivity(from(connector.url, who, 'help'));
    connector.reset();
  });
  afterEach(async () => {
    await t.close();
  });

  const say = async (who: Person, text: string) => {
    const before = connector.requests('POST', '/v3/conversations/:id/activities/:replyTo').length;
    await t.sendActivity(from(connector.url, who, text));
    const reply = (await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo', before + 1)).at(-1)!.body as { text?: string };
    return reply.text ?? JSON.stringify(reply);
  };
  const actions = async () =>
    (await db.query<{ id: string; state: string; target: Record<string, unknown>; result: Record<string, unknown> }>('SELECT id, state, target, result FROM actions ORDER BY created_at')).rows;
  const graphWrites = () => sandboxes.graph.requests().filter((r) => r.method === 'PATCH' || r.path.endsWith('/revokeSignInSessions'));

  it('refuses the break-glass account named by its object id, from the card (Sentinel sent the id) and from chat', async () => {
    // The account entity carries the object id and a harmless-looking name: the card targets the id.
    const body = withProperties(demoIncident('unfamiliar-signin'), {});
    body.object.properties.relatedEntities[1].properties = { accountName: 'ops-helper', upnSuffix: 'contoso.example', aadUserId: BREAKGLASS.id.toUpperCase() };
    await t.postIncident(body);
    await t.app.enricher.idle();
    await t.app.outbox.idle();
    const button = buttonsOf(channelCard(connector, 1043)).find((b) => b.verb === 'action.request' && b.title.includes('Disable user'))!;
    // The button names the account as people know it (issue 13); what it carries is an opaque
    // option that resolves to the object id, so the click still meets the guardrail on the id.
    expect(button.title).toBe('Disable user ops-helper@contoso.example');
    expect((await click(t, connector.url, ALEX, 'action.request', button.data)).text).toContain(PROTECTED);
    // Graph was asked who the id is, with the fields the check needs.
    const lookup = sandboxes.graph.requests('GET', '/v1.0/users/:id').find((r) => r.path.includes(BREAKGLASS.id));
    expect(lookup!.query.$select).toBe('id,userPrincipalName,displayName');
    expect(await say(ALEX, `disable ${BREAKGLASS.id}`)).toBe(PROTECTED);
    expect(await actions()).toEqual([]);
    expect(graphWrites()).toEqual([]);
  });

  it('refuses a zero-width or bidi character inside a target, saying what and where, instead of stripping it', async () => {
    expect(await say(ALEX, 'disable break\u200bglass@contoso.example')).toBe(
      'Refused: the target contains a character you cannot see (U+200B ZERO WIDTH SPACE) after "break"; Vigil never acts on a name with hidden characters — type it again without them.',
    );
    expect(await say(ALEX, 'disable \u2066bob.risky@contoso.example\u2069')).toContain('(U+2066 LEFT-TO-RIGHT ISOLATE) at its start');
    expect(await say(ALEX, 'isolate web\ufeff-01')).toContain('(U+FEFF ZERO WIDTH NO-BREAK SPACE) after "web"');
    expect(await say(ALEX, 'block 203.0.113.7\u202e')).toContain('U+202E RIGHT-TO-LEFT OVERRIDE');
    // The same character in an entity Sentinel sent: the card's button is refused too.
    const body = withProperties(demoIncident('unfamiliar-signin'), {});
    body.object.properties.relatedEntities[1].properties = { accountName: 'break\u200bglass', upnSuffix: 'contoso.example' };
    await t.postIncident(body);
    await t.app.outbox.idle();
    const button = buttonsOf(channelCard(connector, 1043)).find((b) => b.verb === 'action.request' && b.title.includes('Disable user'))!;
    expect((await click(t, connector.url, ALEX, 'action.request', button.data)).text).toContain('contains a character you cannot see (U+200B ZERO WIDTH SPACE)');
    expect(await actions()).toEqual([]);
    expect(graphWrites()).toEqual([]);
  });

  it('reads fullwidth and other compatibility forms as the plain name (NFKC), and any case', async () => {
    expect(await say(ALEX, 'disable ｂｒｅａｋｇｌａｓｓ＠ｃｏｎｔｏｓｏ．ｅｘａｍｐｌｅ')).toBe(PROTECTED);
    expect(await say(ALEX, 'disable BreakGlass@Contoso.Example')).toBe(PROTECTED);
    expect(await say(ALEX, 'isolate ＤＣ－０１')).toBe('Refused: dc-01 is a protected VM and is never isolated by Vigil.');
    expect(await say(ALEX, 'block １９８.５１.１００.２０１')).toBe('Refused: 198.51.100.201 is in our own address space.');
    expect(await actions()).toEqual([]);
  });

  it('refuses a VM tagged vigil-protected on the Defender path, and a protected VM Defender knows by another name', async () => {
    for (const host of ['sql-01.contoso.example', 'dirsvc.contoso.example']) {
      expect(await say(ALEX, `isolate ${host}`)).toContain(`Requested Isolate VM ${host}`);
      const a = (await actions()).find((x) => x.target.host === host)!;
      expect((await click(t, connector.url, MEGAN, 'action.approve', { action: a.id, view: 'action' })).text).toContain('will run now');
    }
    const failed = await eventually('both isolations to be refused', async () => {
      const rows = await actions();
      return rows.every((r) => r.state === 'failed') && rows;
    });
    expect(failed.map((r) => r.result.error)).toEqual([
      'sql-01.contoso.example is tagged vigil-protected and is never isolated by Vigil',
      'dirsvc.contoso.example is the Azure VM dc-01: dc-01 is a protected VM and is never isolated by Vigil',
    ]);
    // Defender found each machine and ARM was read for its VM; nothing was isolated anywhere.
    expect(sandboxes.arm.requests('GET', '/subscriptions/:s/resourceGroups/:rg/providers/Microsoft.Compute/virtualMachines/:name').map((r) => r.path.split('/').pop())).toEqual(
      expect.arrayContaining(['sql-01', 'dc-01']),
    );
    expect(sandboxes.defender.requests('POST')).toEqual([]);
    expect(sandboxes.arm.requests('PUT')).toEqual([]);
  });

  it('checks again in the worker, on the account as Graph has it then, and disables by object id', async () => {
    expect(await say(ALEX, 'disable Bob.Risky@contoso.example')).toContain('Requested Disable user bob.risky@contoso.example');
    const [a] = await actions();
    expect(a!.target).toEqual({ kind: 'disable-user', user: '5f0c6a1e-2b7d-4e1a-9c3d-000000000002', upn: 'bob.risky@contoso.example' });
    // Meanwhile the policy is tightened: bob is now protected, by UPN.
    t.app.actions!.policy.guardrails.protectedAccounts.push('BOB.RISKY@contoso.example');
    await click(t, connector.url, MEGAN, 'action.approve', { action: a!.id, view: 'action' });
    await click(t, connector.url, ISAIAH, 'action.approve', { action: a!.id, view: 'action' });
    // An empty list is truthy: wait for the failed action itself.
    const done = await eventually('the worker to refuse', async () => (await actions()).find((r) => r.state === 'failed'));
    expect(done.result.error).toBe('bob.risky@contoso.example is a protected account (break-glass or listed admin) and is never disabled by Vigil');
    expect(graphWrites()).toEqual([]);

    // An account the policy does not protect: the worker asks Graph again, by the stored object id, then disables that id.
    const JANE = '5f0c6a1e-2b7d-4e1a-9c3d-000000000001';
    sandboxes.graph.reset();
    expect(await say(ALEX, 'disable admin.jane@contoso.example')).toContain('Requested Disable user admin.jane@contoso.example');
    const jane = (await actions()).find((r) => r.state === 'requested')!;
    await click(t, connector.url, MEGAN, 'action.approve', { action: jane.id, view: 'action' });
    await click(t, connector.url, ISAIAH, 'action.approve', { action: jane.id, view: 'action' });
    await eventually('the disable', async () => (await actions()).some((r) => r.id === jane.id && r.state === 'succeeded'));
    const calls = sandboxes.graph
      .requests()
      .filter((r) => !r.path.endsWith('/checkMemberGroups'))
      .map((r) => `${r.method} ${decodeURIComponent(r.path)}`);
    expect(calls).toEqual(['GET /v1.0/users/admin.jane@contoso.example', `GET /v1.0/users/${JANE}`, `PATCH /v1.0/users/${JANE}`, `POST /v1.0/users/${JANE}/revokeSignInSessions`]);
  });
});
