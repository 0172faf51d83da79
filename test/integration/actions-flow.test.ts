import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import type { SandboxMachine } from '../../sandbox/defender';
import type { Db } from '../../src/store/db';
import { createPgDb } from '../../src/store/pg-db';
import { demoIncident } from '../helpers/fixtures';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';
import { botInstalledInTeam } from '../helpers/teams-activities';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { actionEnv, ADELE, ALEX, buttonsOf, channelCard, click, eventually, from, ISAIAH, MEGAN, type Person } from '../helpers/actions-setup';

const INCIDENTS = ['brute-force-admin', 'powershell-web-01', 'unfamiliar-signin'].map((n) => demoIncident(n));
const BLOCKED_IP = '203.0.113.66';

describe.each(storeDrivers())('approvals and the action service on $name', (driver) => {
  let connector: BotConnectorStandIn;
  let sandboxes: Sandboxes;
  let db: Db;
  let url: string | undefined;
  let drop: () => Promise<void>;
  let now: Date;
  const apps: TestApp[] = [];
  const machines: SandboxMachine[] = [];

  beforeAll(async () => {
    [connector, sandboxes] = await Promise.all([
      startBotConnector(),
      startSandboxes(
        undefined,
        INCIDENTS.map((i) => i.object),
      ),
    ]);
    ({ db, url, drop } = await driver.open());
    machines.push(...sandboxes.defender.machines);
  });
  afterAll(async () => {
    await Promise.all([connector.close(), sandboxes.close()]);
    await drop();
  });
  beforeEach(async () => {
    for (const s of [connector, ...sandboxes.all]) s.reset();
    sandboxes.arm.nsgRules.clear();
    sandboxes.sentinel.comments.clear();
    sandboxes.sentinel.indicators.clear();
    for (const i of INCIDENTS) sandboxes.putIncident(JSON.parse(JSON.stringify(i.object)));
    sandboxes.defender.machines.splice(0, sandboxes.defender.machines.length, ...machines.map((m) => ({ ...m })));
    for (const vm of sandboxes.arm.vms) vm.nsg = vm.name === 'web-01' ? 'web-nsg' : 'dc-nsg';
    await emptyTables(db);
    now = new Date();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  const start = async (database: Db = db) => {
    const app = await startTestApp(actionEnv(sandboxes), { db: database, clock: () => now, workerPollMs: 50 });
    apps.push(app);
    return app;
  };
  /** Vigil installed in the channel; everyone has spoken to it once (so it knows their names). */
  const setUp = async (app: TestApp, incident = 'brute-force-admin') => {
    await app.sendActivity(botInstalledInTeam(connector.url));
    for (const who of [ALEX, MEGAN, ISAIAH, ADELE]) await app.sendActivity(from(connector.url, who, 'hello'));
    await app.postIncident(demoIncident(incident));
    await app.app.enricher.idle();
    await app.app.outbox.idle();
  };
  const option = (number: number, title: RegExp) => {
    const button = buttonsOf(channelCard(connector, number)).find((b) => b.verb === 'action.request' && title.test(b.title));
    if (!button) throw new Error(`no ${title} button on incident #${number}'s card`);
    return button.data;
  };
  const actionState = (kind: string) =>
    db.query<{ id: string; state: string; attempts: number }>('SELECT id, state, attempts FROM actions WHERE kind = $1 ORDER BY created_at', [kind]).then((r) => r.rows);
  const done = (kind: string, state = 'succeeded') => eventually(`${kind} to be ${state}`, async () => (await actionState(kind)).find((a) => a.state === state));
  const auditOf = async (actionId: string) => (await db.query<{ actor: string; action: string }>(`SELECT actor, action FROM audit WHERE details->>'action' = $1 ORDER BY id`, [actionId])).rows;
  /** Writes to the network resource provider (the ARM stand-in also serves Sentinel). */
  const networkWrites = () => sandboxes.arm.requests('PUT').filter((r) => r.path.includes('/providers/Microsoft.Network/'));
  const approve = (app: TestApp, who: Person, actionId: string) => click(app, connector.url, who, 'action.approve', { action: actionId });

  it('blocks an IP end to end: request, four-eyes approval, NSG rule, comment and label, card and audit; then the Undo', async () => {
    const app = await start();
    await setUp(app);
    const base = channelCard(connector, 1041);
    // The shared card offers the recommended containment, marked, with an opaque id and no address in its data.
    const block = buttonsOf(base).find((b) => b.verb === 'action.request' && b.title.includes('Block IP'))!;
    expect(block.title).toBe(`★ Block IP ${BLOCKED_IP}`);
    expect(JSON.stringify(block.data)).not.toContain(BLOCKED_IP);

    const requested = await click(app, connector.url, ALEX, 'action.request', block.data);
    expect(requested.statusCode).toBe(200);
    expect(requested.text).toContain(`Requested Block IP ${BLOCKED_IP}; it needs 1 approval from someone other than you.`);
    expect(requested.text).toMatch(/⏳ \*\*Block IP\*\* 203\.0\.113\.66 · requested by Alex Wilber · waiting for 1 more approval/);
    // Alex sees Cancel, not Approve; nothing has run.
    expect(buttonsOf(requested.card).map((b) => b.title)).toEqual(expect.arrayContaining(['Cancel request']));
    expect(buttonsOf(requested.card).map((b) => b.title)).not.toContain('Approve');
    expect(networkWrites()).toEqual([]);

    // The shared card says it is waiting, and asks approvers' clients to fetch their own view.
    await app.app.outbox.idle();
    const waiting = channelCard(connector, 1041);
    expect(JSON.stringify(waiting)).toContain('waiting for 1 more approval');
    expect(buttonsOf(waiting.body).map((b) => b.title)).not.toContain('Approve');
    expect(waiting.refresh.userIds).toEqual(expect.arrayContaining(['29:MeganBowen', '29:AlexWilber', '29:IsaiahLanger']));
    expect(waiting.refresh.userIds).not.toContain('29:AdeleVance');

    // Megan's client refreshes: her view has Approve and Reject.
    const meganView = await click(app, connector.url, MEGAN, 'card.refresh', { incident: 1041 }, 'automatic');
    const approveButton = buttonsOf(meganView.card).find((b) => b.title === 'Approve')!;
    expect(buttonsOf(meganView.card).map((b) => b.title)).toEqual(expect.arrayContaining(['Approve', 'Reject']));

    const approved = await click(app, connector.url, MEGAN, 'action.approve', approveButton.data);
    expect(approved.text).toContain(`Approved: Block IP ${BLOCKED_IP} will run now.`);
    const action = await done('block-ip');

    // What reached Azure: both deny rules hold the address, written with etags.
    expect(sandboxes.arm.nsgRules.get('edge-nsg/vigil-block-in')!.properties.sourceAddressPrefixes).toEqual([BLOCKED_IP]);
    expect(sandboxes.arm.nsgRules.get('edge-nsg/vigil-block-out')!.properties.destinationAddressPrefixes).toEqual([BLOCKED_IP]);
    expect(networkWrites().map((r) => r.headers['if-none-match'])).toEqual(['*', '*']);
    // The incident in Sentinel: the comment says who asked, who approved, what was done; and a label.
    const incidentName = INCIDENTS[0].object.name;
    const [comment] = await eventually('the comment', () => sandboxes.sentinel.comments.get(incidentName.toLowerCase()));
    expect(comment!.message).toMatch(new RegExp(`^Vigil: Block IP ${BLOCKED_IP.replace(/\./g, '\\.')} — done in [\\d.]+ s\\.\\nRequested by Alex Wilber; approved by Megan Bowen\\.`));
    await eventually('the label', () =>
      (sandboxes.sentinel.getIncident(incidentName)?.properties.labels as Array<{ labelName: string }> | undefined)?.some((l) => l.labelName === 'Vigil: IP blocked'),
    );
    // The card everyone sees shows the outcome, with an Undo.
    await eventually('the card to show the outcome', async () => {
      await app.app.outbox.idle();
      return JSON.stringify(channelCard(connector, 1041)).includes(`✅ **Block IP** ${BLOCKED_IP} · done`);
    });
    expect(await auditOf(action.id)).toEqual([
      { actor: ALEX.id, action: 'action.requested' },
      { actor: MEGAN.id, action: 'action.approved' },
      { actor: 'vigil', action: 'action.succeeded' },
    ]);
    const attempts = await db.query<{ outcome: string }>('SELECT outcome FROM action_attempts WHERE action_id = $1', [action.id]);
    expect(attempts.rows).toEqual([{ outcome: 'succeeded' }]);

    // Undo: Alex asks, Isaiah (allow-listed) approves, the address leaves the rules.
    const undo = buttonsOf(channelCard(connector, 1041)).find((b) => b.verb === 'action.undo')!;
    const undoRequest = await click(app, connector.url, ALEX, 'action.undo', undo.data);
    expect(undoRequest.text).toContain(`Requested Unblock IP ${BLOCKED_IP}`);
    const undoId = (await actionState('block-ip')).find((a) => a.id !== action.id)!.id;
    await approve(app, ISAIAH, undoId);
    await eventually('the unblock', async () => (await actionState('block-ip')).every((a) => a.state === 'succeeded'));
    expect(sandboxes.arm.nsgRules.has('edge-nsg/vigil-block-in')).toBe(false);
  });

  it('isolates a host through Defender where Defender knows it, and behind the isolation NSG where it does not', async () => {
    const app = await start();
    await setUp(app, 'powershell-web-01');
    const isolateOption = option(1042, /Isolate VM/);
    await click(app, connector.url, ALEX, 'action.request', isolateOption);
    const [viaDefender] = await actionState('isolate-vm');
    await approve(app, ISAIAH, viaDefender!.id);
    await done('isolate-vm');
    const [isolate] = sandboxes.defender.requests('POST', '/api/machines/:id/isolate');
    expect(isolate!.body).toEqual({ Comment: `Vigil Isolate VM, action ${viaDefender!.id}`, IsolationType: 'Full' });
    expect(sandboxes.defender.machines[0]!.isolated).toBe(true);
    expect(networkWrites()).toEqual([]);

    // Release it through the Undo and its approval, then forget the machine in Defender: the next
    // isolation goes through the NIC.
    await click(app, connector.url, ALEX, 'action.undo', { action: viaDefender!.id });
    const release = (await actionState('isolate-vm')).find((a) => a.id !== viaDefender!.id)!;
    await approve(app, MEGAN, release.id);
    await eventually('the release', async () => (await actionState('isolate-vm')).every((a) => a.state === 'succeeded'));
    const [unisolate] = sandboxes.defender.requests('POST', '/api/machines/:id/unisolate');
    expect(unisolate!.body).toEqual({ Comment: `Vigil Release from isolation, action ${release.id}` });
    expect(sandboxes.defender.machines[0]!.isolated).toBe(false);
    sandboxes.defender.machines.splice(0);
    await click(app, connector.url, ALEX, 'action.request', isolateOption);
    const viaNsg = (await actionState('isolate-vm')).find((a) => a.id !== viaDefender!.id && a.id !== release.id)!;
    await approve(app, MEGAN, viaNsg.id);
    await eventually('the NSG isolation', async () => (await actionState('isolate-vm')).find((a) => a.id === viaNsg.id && a.state === 'succeeded'));
    const [nicWrite] = sandboxes.arm.requests('PUT', '/subscriptions/:s/resourceGroups/:rg/providers/Microsoft.Network/networkInterfaces/:nic');
    expect((nicWrite!.body as any).properties.networkSecurityGroup.id).toMatch(/\/networkSecurityGroups\/isolation-nsg$/);
    expect(nicWrite!.headers['if-match']).toBe('W/"nic-web-01-0"');
    expect(sandboxes.arm.vms.find((v) => v.name === 'web-01')!.nsg).toBe('isolation-nsg');
  });

  it('disables a user only after two approvers (the policy says two): PATCH accountEnabled false, then revoke sessions', async () => {
    const app = await start();
    await setUp(app, 'unfamiliar-signin');
    await click(app, connector.url, ALEX, 'action.request', option(1043, /Disable user/));
    const [a] = await actionState('disable-user');
    const first = await approve(app, MEGAN, a!.id);
    expect(first.text).toContain('Approval recorded; 1 more needed.');
    // Megan again (a double click) does not count twice.
    expect((await approve(app, MEGAN, a!.id)).text).toContain('you have already approved this request');
    expect(sandboxes.graph.requests('PATCH')).toEqual([]);
    await approve(app, ISAIAH, a!.id);
    await done('disable-user');
    // The account was resolved through Graph to its object id, and that is what was disabled.
    const BOB = '5f0c6a1e-2b7d-4e1a-9c3d-000000000002';
    expect(
      sandboxes.graph
        .requests()
        .filter((r) => r.method !== 'GET' && !r.path.endsWith('/checkMemberGroups') && !r.path.endsWith('/$batch'))
        .map((r) => [r.method, r.path, r.body]),
    ).toEqual([
      ['PATCH', `/v1.0/users/${BOB}`, { accountEnabled: false }],
      ['POST', `/v1.0/users/${BOB}/revokeSignInSessions`, {}],
    ]);
    expect(sandboxes.graph.users.find((u) => u.userPrincipalName === 'bob.risky@contoso.example')!.accountEnabled).toBe(false);
  });

  it('refuses with a reason: the requester as approver, a non-approver, a guarded target, an expired request, a rejected one', async () => {
    const app = await start();
    await setUp(app);
    const blockOption = option(1041, /Block IP/);
    const disableOption = option(1041, /Disable user/);
    await click(app, connector.url, ALEX, 'action.request', blockOption);
    const [a] = await actionState('block-ip');
    expect((await approve(app, ALEX, a!.id)).text).toContain('you asked for this action, so someone else must approve it (four-eyes)');
    // Adele is neither a responder nor named in the action policy: her clicks stop at the door.
    const outsider = 'you are not a member of a responder group and you may not request or approve any action.';
    expect(await approve(app, ADELE, a!.id)).toMatchObject({
      statusCode: 403,
      text: expect.stringContaining(`Only responders and those who may request or approve actions may decide on action requests, and ${outsider}`),
    });
    // Isaiah may approve but not ask: the action service says so.
    expect((await click(app, connector.url, ISAIAH, 'action.request', disableOption)).text).toContain('You cannot request Disable user: you are not a member of a Disable user requester group.');
    // Guarded targets, from chat: our own range, a private address, a break-glass account.
    connector.reset();
    await app.sendActivity({ ...from(connector.url, MEGAN, 'block 198.51.100.201'), type: 'message' });
    await app.sendActivity({ ...from(connector.url, MEGAN, 'block 10.1.2.3'), type: 'message' });
    await app.sendActivity({ ...from(connector.url, MEGAN, 'disable breakglass@contoso.example'), type: 'message' });
    const replies = (await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo', 3)).map((r) => (r.body as { text?: string }).text);
    expect(replies).toEqual([
      'Refused: 198.51.100.201 is in our own address space.',
      'Refused: 10.1.2.3 is a private address, not a public one; blocking it would only hurt our own network.',
      'Refused: breakglass@contoso.example is a protected account (break-glass or listed admin) and is never disabled by Vigil.',
    ]);
    // An hour later the request has expired: nobody can approve it.
    now = new Date(now.getTime() + 61 * 60_000);
    expect((await approve(app, MEGAN, a!.id)).text).toContain('this request has expired; ask for it again if it is still needed');
    await app.app.actions!.worker.tick();
    expect((await actionState('block-ip'))[0]!.state).toBe('expired');
    // A rejected request never runs.
    await click(app, connector.url, ALEX, 'action.request', blockOption);
    const second = (await actionState('block-ip')).find((x) => x.state === 'requested')!;
    expect((await click(app, connector.url, MEGAN, 'action.reject', { action: second.id })).text).toContain(`Rejected Block IP ${BLOCKED_IP}.`);
    expect((await approve(app, ISAIAH, second.id)).text).toContain('this request is already rejected');
    await app.app.actions!.worker.tick();
    expect(networkWrites()).toEqual([]);
  });

  it('ten concurrent clicks on one approval, split across two Vigil processes, run the block once', async () => {
    const other = url ? await createPgDb(url) : db;
    try {
      const [one, two] = [await start(), await start(other)];
      await setUp(one);
      await click(one, connector.url, ALEX, 'action.request', option(1041, /Block IP/));
      const [a] = await actionState('block-ip');
      const clicks = await Promise.all(Array.from({ length: 10 }, (_, i) => approve(i % 2 ? two : one, i % 4 < 2 ? MEGAN : ISAIAH, a!.id)));
      expect(clicks.filter((c) => c.text.includes('will run now'))).toHaveLength(1);
      await done('block-ip');
      await Promise.all([one.app.actions!.worker.tick(), two.app.actions!.worker.tick()]);
      expect(sandboxes.arm.requests('PUT', '/subscriptions/:s/resourceGroups/:rg/providers/Microsoft.Network/networkSecurityGroups/:nsg/securityRules/:rule')).toHaveLength(2);
      // A second run would read the rules again (and find the address there): per rule one read
      // before the write and one after it.
      expect(sandboxes.arm.requests('GET', '/subscriptions/:s/resourceGroups/:rg/providers/Microsoft.Network/networkSecurityGroups/:nsg/securityRules/:rule')).toHaveLength(4);
      const attempts = await db.query('SELECT 1 FROM action_attempts WHERE action_id = $1', [a!.id]);
      expect(attempts.rowCount).toBe(1);
      expect((await auditOf(a!.id)).filter((r) => r.action === 'action.approved')).toHaveLength(1);
    } finally {
      await Promise.all(apps.splice(0).map((x) => x.close()));
      if (other !== db) await other.close();
    }
  });

  it('from chat: block for an incident, actions with Approve, the chat card updated when done; audit; assign, comment and close in Sentinel', async () => {
    const app = await start();
    await setUp(app);
    const say = async (who: Person, text: string) => {
      const before = connector.requests('POST', '/v3/conversations/:id/activities/:replyTo').length;
      await app.sendActivity({ ...from(connector.url, who, text), type: 'message' });
      return (await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo', before + 1)).at(-1)!;
    };
    const asked = await say(ALEX, 'block 192.0.2.44 for 1041');
    expect(JSON.stringify(asked.body)).toContain('Requested Block IP 192.0.2.44; it needs 1 approval from someone other than you.');
    const [a] = await actionState('block-ip');
    expect(JSON.stringify(asked.body)).toContain(`For incident #1041`);

    const list = await say(MEGAN, 'actions');
    const approveFromList = buttonsOf(list.body).find((b) => b.title === 'Approve')!;
    expect(approveFromList.data).toEqual({ action: a!.id, view: 'action' });
    const answered = await click(app, connector.url, MEGAN, 'action.approve', approveFromList.data);
    expect(answered.text).toContain('Vigil · response action');
    await done('block-ip');
    // The card in Alex's chat is updated in place with the outcome.
    const chatCard = await eventually('the chat card update', () => connector.requests('PUT').find((r) => JSON.stringify(r.body).includes('✅ **Block IP** 192.0.2.44')));
    expect(decodeURIComponent(chatCard.path)).toContain(`/activities/`);

    const audit = await say(ALEX, 'audit 1041');
    const lines = JSON.stringify(audit.body);
    expect(lines).toMatch(/Alex Wilber\*\* · action.requested · block-ip · 192.0.2.44/);
    expect(lines).toMatch(/Megan Bowen\*\* · action.approved/);
    expect(lines).toMatch(/vigil\*\* · action.succeeded · block-ip · 192.0.2.44/);

    expect((await say(MEGAN, 'assign 1041')).body).toMatchObject({ text: 'Incident #1041 is assigned to you.' });
    const incidentName = INCIDENTS[0].object.name;
    expect(sandboxes.sentinel.getIncident(incidentName)!.properties).toMatchObject({ owner: expect.objectContaining({ objectId: MEGAN.id, assignedTo: 'Megan Bowen' }), status: 'Active' });
    const commented = await click(app, connector.url, MEGAN, 'incident.comment', { incident: 1041, comment: 'Sign-ins came from a VPS range; blocked.' });
    expect(commented.text).toContain('Your comment is on the incident in Sentinel.');
    expect(sandboxes.sentinel.comments.get(incidentName.toLowerCase())!.map((c) => c.message)).toContain('Megan Bowen (via Vigil): Sign-ins came from a VPS range; blocked.');
    expect((await say(ADELE, 'close 1041 tp done')).body).toMatchObject({ text: 'Only responders may close incidents, and you are not a member of a responder group.' });
    const closed = await click(app, connector.url, MEGAN, 'incident.close', { incident: 1041, classification: 'TruePositive/SuspiciousActivity', closeComment: 'Contained.' });
    expect(closed.text).toContain('Incident #1041 is closed as true positive.');
    expect(sandboxes.sentinel.getIncident(incidentName)!.properties).toMatchObject({
      status: 'Closed',
      classification: 'TruePositive',
      classificationReason: 'SuspiciousActivity',
      classificationComment: 'Closed by Megan Bowen via Vigil: Contained.',
    });
    await app.app.outbox.idle();
    expect(JSON.stringify(channelCard(connector, 1041))).toContain('Closed (TruePositive)');
  });

  it('answers the approval before the slow upstream does: the worker is still waiting for Azure when the card comes back', async () => {
    const app = await start();
    await setUp(app);
    await click(app, connector.url, ALEX, 'action.request', option(1041, /Block IP/));
    const [a] = await actionState('block-ip');
    sandboxes.arm.set({ latencyMs: 1500 });
    const answer = await approve(app, MEGAN, a!.id);
    expect(answer.text).toContain('will run now');
    // The card came back while Azure had not answered anything yet.
    expect(networkWrites()).toEqual([]);
    expect(['approved', 'running']).toContain((await actionState('block-ip'))[0]!.state);
    sandboxes.arm.set({ latencyMs: 0 });
    await done('block-ip');
  });
});
