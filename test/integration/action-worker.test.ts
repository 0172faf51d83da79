import { nsgId, startArm } from '../../sandbox/arm';
import { startGraph } from '../../sandbox/graph';
import { createSentinelRoutes } from '../../sandbox/sentinel';
import { startStandIn } from '../../sandbox/stand-in';
import { createActionEffectHandlers } from '../../src/actions/action-effects';
import { createActionWorker } from '../../src/actions/action-worker';
import { createJobRunner } from '../../src/jobs/job-runner';
import { createArmClient } from '../../src/actions/executors/arm-client';
import { createNsgBlocker } from '../../src/actions/executors/nsg-block';
import { createUserDisabler } from '../../src/actions/executors/user-disable';
import { createVmIsolator } from '../../src/actions/executors/vm-isolate';
import { createGraphClient } from '../../src/graph/graph-client';
import { parseIncident } from '../../src/incidents/parse-incident';
import { createLogger } from '../../src/logger';
import { createSentinelClient } from '../../src/sentinel/sentinel-client';
import { approveAction, getAction, requestAction } from '../../src/store/action-repository';
import type { Db } from '../../src/store/db';
import { upsertIncident } from '../../src/store/incident-repository';
import { demoIncident } from '../helpers/fixtures';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';

describe.each(storeDrivers())('the action service on $name', (driver) => {
  let db: Db;
  let drop: () => Promise<void>;
  let arm: Awaited<ReturnType<typeof startArm>>;
  let graph: Awaited<ReturnType<typeof startGraph>>;
  let sentinel: ReturnType<typeof createSentinelRoutes>;
  let sentinelServer: Awaited<ReturnType<typeof startStandIn>>;
  const now = new Date('2026-11-24T03:00:00Z');
  const envelope = demoIncident('brute-force-admin');

  beforeAll(async () => {
    ({ db, drop } = await driver.open());
    sentinel = createSentinelRoutes([envelope.object]);
    [arm, graph, sentinelServer] = await Promise.all([startArm(), startGraph(), startStandIn('sentinel', sentinel.routes)]);
  });
  afterAll(async () => {
    await Promise.all([arm.close(), graph.close(), sentinelServer.close()]);
    await drop();
  });
  beforeEach(async () => {
    await emptyTables(db);
    arm.reset();
    arm.nsgRules.clear();
    graph.reset();
    sentinel.comments.clear();
    sentinel.indicators.clear();
    sentinelServer.reset();
  });

  const sentinelClient = (timeoutMs = 2000) =>
    createSentinelClient({ armEndpoint: sentinelServer.url, subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'soc-rg', workspaceName: 'soc-workspace', timeoutMs });
  const worker = (o: { clock?: () => Date; leaseMs?: number; pollMs?: number; sentinelTimeoutMs?: number } = {}) => {
    const armClient = createArmClient({ endpoint: arm.url, timeoutMs: 2000, sleep: async () => undefined });
    const sentinelWriter = sentinelClient(o.sentinelTimeoutMs);
    return createActionWorker({
      db,
      executors: {
        nsg: createNsgBlocker({ arm: armClient, nsgId: nsgId('edge-nsg'), ruleName: 'vigil-block', priority: 110 }),
        users: createUserDisabler({ graph: createGraphClient({ baseUrl: graph.url, timeoutMs: 2000 }) }),
        vms: createVmIsolator({ arm: armClient, isolationNsgId: nsgId('isolation-nsg'), subscriptionId: '00000000-0000-0000-0000-000000000000' }),
        indicators: sentinelWriter,
      },
      guardrails: { ownRanges: [], protectedAccounts: [], protectedVms: [], maxActionsPerHour: 100, treatAsPublic: ['203.0.113.0/24'] },
      logger: createLogger('silent'),
      clock: o.clock ?? (() => now),
      leaseMs: o.leaseMs,
      pollMs: o.pollMs,
    });
  };
  /** The comments and labels the actions' changes queued, carried out as the job runner does. */
  const effects = () => createJobRunner({ db, handlers: createActionEffectHandlers({ db, sentinel: sentinelClient() }), logger: createLogger('silent') }).runDue();
  const stateOf = async (id: string) => (await getAction(db, id))!.state;
  const until = async (what: string, check: () => Promise<boolean>) => {
    for (let waited = 0; !(await check()); waited += 20) {
      if (waited > 8000) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  /** Requested and approved at `at`: the worker's clock, or a running worker's expiry sweep may take the request first. */
  const approved = async (target: Parameters<typeof requestAction>[1]['target'], at = now) => {
    const incident = parseIncident(envelope, { portalUrl: 'https://portal.azure.com' });
    await upsertIncident(db, incident);
    const r = await requestAction(db, { incidentKey: incident.key, target, requestedBy: 'alex', approvalsNeeded: 1, expiresAt: new Date(at.getTime() + 60_000) }, { now: at });
    if (r.kind === 'over-limit') throw new Error('over the limit');
    await approveAction(db, r.action.id, 'megan', at);
    return r.action;
  };

  it('blocks an approved IP once, comments on the incident and records the attempt', async () => {
    const a = await approved({ kind: 'block-ip', ip: '203.0.113.66' });
    expect(await Promise.all([worker().tick(), worker().tick()])).toEqual(expect.arrayContaining([1, 0]));
    expect(arm.nsgRules.get('edge-nsg/vigil-block-in')!.properties.sourceAddressPrefixes).toEqual(['203.0.113.66']);
    expect(await getAction(db, a.id)).toMatchObject({ state: 'succeeded', result: { changed: true } });
    // The comment and the label were queued with the success; twice run, they are still one each.
    await Promise.all([effects(), effects()]);
    await effects();
    expect(sentinel.comments.get(envelope.object.name)).toHaveLength(1);
    const labels = (sentinel.getIncident(envelope.object.name)?.properties.labels ?? []) as Array<{ labelName: string }>;
    expect(labels.filter((l) => l.labelName === 'Vigil: IP blocked')).toHaveLength(1);
    const [comment] = sentinel.comments.get(envelope.object.name)!;
    expect(comment!.message).toMatch(/^Vigil: Block IP 203\.0\.113\.66 — done in [\d.]+ s\.\nRequested by alex; approved by megan\./);
    const attempts = await db.query<{ outcome: string }>('SELECT outcome FROM action_attempts WHERE action_id = $1', [a.id]);
    expect(attempts.rows).toEqual([{ outcome: 'succeeded' }]);
    const audit = await db.query<{ action: string }>(`SELECT action FROM audit WHERE details->>'action' = $1 ORDER BY id`, [a.id]);
    expect(audit.rows.map((r) => r.action)).toEqual(['action.requested', 'action.approved', 'action.succeeded']);
  });

  it('submits to threat intelligence once although the first answer was lost, and the Undo removes every copy', async () => {
    const a = await approved({ kind: 'add-indicator', indicator: 'evil.example', type: 'domain' });
    // Sentinel takes 300 ms and creates the indicator; the worker stopped waiting after 100 ms.
    sentinelServer.set({ latencyMs: 300 });
    await worker({ sentinelTimeoutMs: 100 }).tick();
    expect(await getAction(db, a.id)).toMatchObject({ state: 'approved', attempts: 1 });
    await until('Sentinel to finish creating it', async () => sentinel.indicators.size === 1);
    sentinelServer.set({ latencyMs: 0 });
    const [created] = [...sentinel.indicators.keys()];
    await worker({ clock: () => new Date(now.getTime() + 5_000) }).tick();
    expect(await getAction(db, a.id)).toMatchObject({ state: 'succeeded', attempts: 2, result: { name: created, foundFromEarlierAttempt: true } });
    expect(
      sentinelServer.requests(
        'POST',
        '/subscriptions/:s/resourceGroups/:rg/providers/Microsoft.OperationalInsights/workspaces/:ws/providers/Microsoft.SecurityInsights/threatIntelligence/main/createIndicator',
      ),
    ).toHaveLength(1);
    expect(sentinel.indicators.size).toBe(1);

    // A stray copy (say, from a process that lost its lease) carries the same label: the Undo finds it too.
    const stray = await sentinelClient().createThreatIndicator({ type: 'domain', value: 'evil.example', description: `copy, action ${a.id}`, labels: ['vigil', `vigil-action-${a.id}`] });
    await sentinelClient().createThreatIndicator({ type: 'domain', value: 'evil.example', description: 'someone else submitted this one', labels: ['vigil'] });
    const undo = await requestAction(db, { incidentKey: a.incidentKey, target: a.target, undoOf: a.id, requestedBy: 'alex', approvalsNeeded: 0, expiresAt: new Date(now.getTime() + 60_000) }, { now });
    await worker({ clock: () => new Date(now.getTime() + 6_000) }).tick();
    expect(await getAction(db, undo.kind === 'over-limit' ? '' : undo.action.id)).toMatchObject({
      state: 'succeeded',
      result: { removed: true, names: expect.arrayContaining([created, stray.name]) },
    });
    expect([...sentinel.indicators.values()].map((i) => (i as { properties: { description: string } }).properties.description)).toEqual(['someone else submitted this one']);
  });

  it('disables a user: asks Graph who it is, then PATCH accountEnabled false and revoke the sessions, by object id', async () => {
    await approved({ kind: 'disable-user', user: 'bob.risky@contoso.example' });
    await worker().tick();
    const bob = '/v1.0/users/5f0c6a1e-2b7d-4e1a-9c3d-000000000002';
    expect(graph.requests().map((r) => [r.method, decodeURIComponent(r.path), r.body])).toEqual([
      ['GET', '/v1.0/users/bob.risky@contoso.example', undefined],
      ['PATCH', bob, { accountEnabled: false }],
      ['POST', `${bob}/revokeSignInSessions`, {}],
    ]);
  });

  it('isolates a VM behind the isolation NSG', async () => {
    await approved({ kind: 'isolate-vm', host: 'web-01' });
    await worker().tick();
    expect(arm.vms.find((v) => v.name === 'web-01')!.nsg).toBe('isolation-nsg');
    arm.vms.find((v) => v.name === 'web-01')!.nsg = 'web-nsg';
  });

  it('finds where to isolate when it runs, and refuses a VM tagged vigil-protected or a host nobody knows, touching no NIC', async () => {
    const tagged = await approved({ kind: 'isolate-vm', host: 'dc-01' });
    const unknown = await approved({ kind: 'isolate-vm', host: 'ghost-07.contoso.example' });
    await worker().tick();
    expect(await getAction(db, tagged.id)).toMatchObject({ state: 'failed', result: { error: 'dc-01 is tagged vigil-protected and is never isolated by Vigil' } });
    expect(await getAction(db, unknown.id)).toMatchObject({
      state: 'failed',
      result: { error: 'ghost-07.contoso.example is neither onboarded to Defender for Endpoint nor an Azure VM Vigil can see' },
    });
    expect(arm.requests('PUT')).toEqual([]);
  });

  it('retries when Azure is down, records each attempt, and does not comment until it ends', async () => {
    const a = await approved({ kind: 'block-ip', ip: '8.8.8.8' });
    arm.set({ fail: { count: 100, status: 503 } });
    await worker().tick();
    arm.set({ fail: { count: 0, status: 503 } });
    expect(await getAction(db, a.id)).toMatchObject({ state: 'approved' });
    const attempts = await db.query<{ outcome: string }>('SELECT outcome FROM action_attempts WHERE action_id = $1', [a.id]);
    expect(attempts.rows).toEqual([{ outcome: 'retrying' }]);
    await effects();
    expect(sentinel.comments.get(envelope.object.name)).toBeUndefined();
  });

  it('waits as long as a throttling upstream asks: a long Retry-After from Azure or Graph reschedules the action rather than sleeping on it', async () => {
    const block = await approved({ kind: 'block-ip', ip: '8.8.4.4' });
    const disable = await approved({ kind: 'disable-user', user: 'bob.risky@contoso.example' });
    arm.set({ throttle: { count: 1, retryAfterSeconds: 300 } });
    graph.set({ throttle: { count: 1, retryAfterSeconds: 120 } });
    await worker().tick();
    const due = async (id: string) => (await db.query<{ next_attempt_at: Date }>('SELECT next_attempt_at FROM actions WHERE id = $1', [id])).rows[0]!.next_attempt_at;
    expect(await getAction(db, block.id)).toMatchObject({ state: 'approved', attempts: 1 });
    expect(new Date(await due(block.id)).getTime() - now.getTime()).toBe(300_000);
    expect(new Date(await due(disable.id)).getTime() - now.getTime()).toBe(120_000);
    // Nothing was slept in place for minutes, and the throttled call was not repeated: Graph got one
    // call; ARM got each rule's read at most once more than that rule's read-back (the two rules
    // are changed side by side, so the rule that was not throttled may have gone on).
    expect(graph.requests()).toHaveLength(1);
    for (const rule of ['vigil-block-in', 'vigil-block-out']) expect(arm.requests('GET').filter((r) => r.path.endsWith(`/${rule}`)).length).toBeLessThanOrEqual(2);
  });

  it('does not hold a quick action back behind a slow one', async () => {
    const w = worker({ clock: () => new Date(), pollMs: 20 });
    w.start();
    try {
      graph.set({ latencyMs: 1500 });
      // On the real clock, as the worker runs: a request of the test's fixed past would expire
      // under the running worker between its request and its approval.
      const slow = await approved({ kind: 'disable-user', user: 'bob.risky@contoso.example' }, new Date());
      w.kick();
      await graph.waitFor('PATCH', '/v1.0/users/:id');
      const quick = await approved({ kind: 'block-ip', ip: '203.0.113.67' }, new Date());
      w.kick();
      await until('the block', async () => (await stateOf(quick.id)) === 'succeeded');
      expect(await stateOf(slow.id)).toBe('running');
    } finally {
      await w.stop();
    }
  });

  it('keeps the lease of a long-running action, so another process does not run it a second time', async () => {
    const clock = () => new Date();
    const a = await approved({ kind: 'disable-user', user: 'bob.risky@contoso.example' });
    graph.set({ latencyMs: 1200 });
    const first = worker({ clock, leaseMs: 300 }).tick();
    await graph.waitFor('PATCH', '/v1.0/users/:id');
    await new Promise((r) => setTimeout(r, 700));
    expect(await worker({ clock, leaseMs: 300 }).tick()).toBe(0);
    await first;
    expect(await stateOf(a.id)).toBe('succeeded');
    expect(graph.requests('PATCH')).toHaveLength(1);
  });

  it("stops a run that another process took over: no call to Azure after the stop, and the outcome is the other process's", async () => {
    const rules = `${nsgId('edge-nsg')}/securityRules/:rule`;
    const a = await approved({ kind: 'block-ip', ip: '203.0.113.68' });
    // The first process's read never gets an answer: only the stop can end it sooner than its 2 s timeout.
    arm.set({ hang: true });
    const started = Date.now();
    const first = worker({ clock: () => new Date(), leaseMs: 300 }).tick();
    await arm.waitFor('GET', rules, 2); // both rules' reads, sent side by side
    arm.set({ hang: false });
    // The second process's clock runs 10 s ahead: to it the first one's lease ran out long ago.
    expect(await worker({ clock: () => new Date(Date.now() + 10_000), leaseMs: 300 }).tick()).toBe(1);
    await first;
    // The first run's read was aborted at its next renewal, not waited out.
    expect(Date.now() - started).toBeLessThan(2000);
    // Its two reads (both rules side by side); then the second run's read and read-back of each
    // rule (one more read if a read-back raced its own operation), and its two writes: nothing more from the first.
    expect(arm.requests('GET', rules).length).toBeGreaterThanOrEqual(6);
    expect(arm.requests('GET', rules).length).toBeLessThanOrEqual(8);
    expect(arm.requests('PUT')).toHaveLength(2);
    expect(arm.nsgRules.get('edge-nsg/vigil-block-in')!.properties.sourceAddressPrefixes).toEqual(['203.0.113.68']);
    expect(await getAction(db, a.id)).toMatchObject({ state: 'succeeded', attempts: 2, result: { changed: true } });
    const attempts = await db.query<{ attempt: number; outcome: string }>('SELECT attempt, outcome FROM action_attempts WHERE action_id = $1 ORDER BY attempt', [a.id]);
    expect(attempts.rows).toEqual([
      { attempt: 1, outcome: 'abandoned' },
      { attempt: 2, outcome: 'succeeded' },
    ]);
    await effects();
    expect(sentinel.comments.get(envelope.object.name)).toHaveLength(1);
  });
});
