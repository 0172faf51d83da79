import crypto from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import { parseIncident } from '../../src/incidents/parse-incident';
import { approveAction, getAction, requestAction, setActionCard } from '../../src/store/action-repository';
import type { Db } from '../../src/store/db';
import { upsertIncident } from '../../src/store/incident-repository';
import { migrate } from '../../src/store/migrations';
import { createPgDb } from '../../src/store/pg-db';
import { ROOT, startNode, type RunningProcess } from '../helpers/built-process';
import { demoIncident } from '../helpers/fixtures';

const adminUrl = process.env.DATABASE_URL;
const describeWithPostgres = adminUrl ? describe : describe.skip;
const ALEX = 'a1b2c3d4-0000-4000-8000-000000000021';
const MEGAN = '7faf8ab2-3d56-4244-b585-20c8a42ed2b8';
const CHAT = 'a:chat-with-AlexWilber';
const SENTINEL_INCIDENT = '/subscriptions/:s/resourceGroups/:rg/providers/Microsoft.OperationalInsights/workspaces/:ws/providers/Microsoft.SecurityInsights/incidents/:id';
const CHAT_CARD = '/v3/conversations/:id/activities/:activityId';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const admin = async (sql: string) => {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
};

/**
 * The built action worker (`node dist/src/worker.js`), killed with SIGKILL the moment its success
 * is committed, while every effect that follows is still on its way out; then started again.
 */
describeWithPostgres('the action worker killed right after a success is committed', () => {
  let sandboxes: Sandboxes;
  let connector: BotConnectorStandIn;
  let db: Db;
  let dbUrl: string;
  let worker: RunningProcess | undefined;
  const database = `vigil_kill_${crypto.randomBytes(4).toString('hex')}`;
  const envelope = demoIncident('brute-force-admin');

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${database}`);
    const url = new URL(adminUrl!);
    url.pathname = `/${database}`;
    dbUrl = url.toString();
    db = await createPgDb(dbUrl);
    await migrate(db);
    [sandboxes, connector] = await Promise.all([startSandboxes(undefined, [envelope.object]), startBotConnector()]);
  });
  afterAll(async () => {
    await worker?.stop();
    await db?.close();
    await Promise.all([sandboxes?.close(), connector?.close()]);
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  const startWorker = () =>
    startNode(path.join(ROOT, 'dist/src/worker.js'), {
      cwd: ROOT,
      env: {
        ...sandboxes.env,
        ...sandboxes.actionEnv,
        DATABASE_URL: dbUrl,
        VIGIL_ACTION_POLICY_FILE: path.join(ROOT, 'test/fixtures/actions.yaml'),
        VIGIL_JOB_LEASE_SECONDS: '2',
        VIGIL_UPSTREAM_TIMEOUT_MS: '60000',
        LOG_LEVEL: 'info',
      },
    });
  const jobs = async () => (await db.query<{ kind: string; state: string }>('SELECT kind, state FROM jobs ORDER BY kind')).rows;
  const doneVersions = () => (connector.conversation(CHAT)[0]?.versions ?? []).filter((v) => JSON.stringify(v).includes('✅'));
  const labels = () => ((sandboxes.sentinel.getIncident(envelope.object.name)?.properties.labels ?? []) as Array<{ labelName: string }>).filter((l) => l.labelName === 'Vigil: IP blocked');

  it('after a restart the Sentinel comment, the label and the card’s “done” each appear exactly once', async () => {
    const incident = parseIncident(envelope, { portalUrl: 'https://portal.azure.com' });
    await upsertIncident(db, incident);
    const now = new Date();
    const requested = await requestAction(
      db,
      { incidentKey: incident.key, target: { kind: 'block-ip', ip: '203.0.113.66' }, requestedBy: ALEX, approvalsNeeded: 1, expiresAt: new Date(now.getTime() + 3_600_000) },
      { now },
    );
    if (requested.kind !== 'created') throw new Error(`no request: ${requested.kind}`);
    // The request's card in Alex's chat, as the bot posted it in the turn.
    const posted = await fetch(`${connector.url}/v3/conversations/${encodeURIComponent(CHAT)}/activities`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'message', text: 'Block IP 203.0.113.66: requested' }),
    });
    const { id: activityId } = (await posted.json()) as { id: string };
    await setActionCard(db, requested.action.id, { serviceUrl: connector.url, conversationId: CHAT, activityId });

    // Every effect hangs on its way out: the comment and label in Sentinel, the redraw at Teams.
    sandboxes.arm.set({ hangOn: [SENTINEL_INCIDENT, `${SENTINEL_INCIDENT}/comments/:commentId`] });
    connector.set({ hangOn: [CHAT_CARD] });
    worker = startWorker();
    await worker.waitForLine(/action worker is running/);
    await approveAction(db, requested.action.id, MEGAN, new Date());
    for (let waited = 0; (await getAction(db, requested.action.id))?.state !== 'succeeded'; waited += 2) {
      if (waited > 30_000) throw new Error(`the block did not succeed; worker said:\n${worker.stdout()}\n${worker.stderr()}`);
      await sleep(2);
    }
    worker.child.kill('SIGKILL');
    await worker.exited;
    expect(sandboxes.arm.nsgRules.get('edge-nsg/vigil-block-in')!.properties.sourceAddressPrefixes).toEqual(['203.0.113.66']);
    expect(sandboxes.sentinel.comments.get(envelope.object.name)).toBeUndefined();
    expect(labels()).toHaveLength(0);
    expect(doneVersions()).toHaveLength(0);
    // What the dead process owed is in the store, not in its memory.
    expect((await jobs()).map((j) => `${j.kind}:${j.state}`)).toEqual(['action.chat-card:queued', 'action.sentinel-comment:queued', 'action.sentinel-labels:queued']);

    sandboxes.arm.set({ hangOn: [] });
    connector.set({ hangOn: [] });
    worker = startWorker();
    for (let waited = 0; (await jobs()).some((j) => j.state !== 'done'); waited += 100) {
      if (waited > 30_000) throw new Error(`the effects were not done: ${JSON.stringify(await jobs())}; worker said:\n${worker.stdout()}\n${worker.stderr()}`);
      await sleep(100);
    }
    // Sentinel's incident as it is now: one comment for the block, one label; the card says done once.
    const comments = sandboxes.sentinel.comments.get(envelope.object.name) ?? [];
    expect(comments).toHaveLength(1);
    expect(comments[0]!.message).toMatch(/^Vigil: Block IP 203\.0\.113\.66 — done in [\d.]+ s\./);
    expect(labels()).toHaveLength(1);
    expect(doneVersions()).toHaveLength(1);
    expect(JSON.stringify(connector.conversation(CHAT)[0]!.versions.at(-1))).toContain('203.0.113.66');
  }, 90_000);
});
