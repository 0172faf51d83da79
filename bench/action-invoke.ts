import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBotConnector } from '../sandbox/bot-connector';
import { startSandboxes } from '../sandbox/sandboxes';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { openDb } from '../src/store/open-db';
import { fixture } from '../test/helpers/fixtures';
import { ms, summary } from './stats';

const ALEX = { id: '29:AlexWilber', name: 'Alex Wilber', aadObjectId: 'a1b2c3d4-0000-4000-8000-000000000020' };
const MEGAN = { id: '29:MeganBowen', name: 'Megan Bowen', aadObjectId: '7faf8ab2-3d56-4244-b585-20c8a42ed2b8' };

/**
 * Block IP through card clicks, as Teams sends them: how long the invoke takes to answer (request
 * and approval) and how long from the approving click to the action done in Azure, with the ARM
 * stand-in answering at once and then taking 1 s per call. The invoke must not wait for Azure.
 * The physical limit of a block: the ARM calls that cannot be avoided, one rule's chain (read,
 * write, follow the operation to its end with the read-back alongside), the two rules side by side.
 *   npm run bench:actions                 (PGlite in memory)
 *   DATABASE_URL=postgres://… npm run bench:actions
 */
async function main() {
  const runs = Number(process.env.BENCH_ACTIONS ?? 40);
  const slowRuns = Number(process.env.BENCH_SLOW_ACTIONS ?? 3);
  const slowMs = Number(process.env.BENCH_UPSTREAM_MS ?? 1_000);
  const [connector, sandboxes] = await Promise.all([startBotConnector(), startSandboxes()]);
  // The demo policy, with the hourly brake opened for the bench's hundreds of blocks.
  const policyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-')), 'actions.yaml');
  fs.writeFileSync(policyFile, fs.readFileSync(path.resolve(__dirname, '../demo/actions.yaml'), 'utf8').replace(/maxActionsPerHour: \d+/, 'maxActionsPerHour: 100000'));
  const config = loadConfig({
    VIGIL_WEBHOOK_SECRET: 'bench-secret-0123456789',
    LOG_LEVEL: 'silent',
    DATABASE_URL: process.env.DATABASE_URL,
    VIGIL_DATA_DIR: 'memory://',
    VIGIL_UPSTREAM_TIMEOUT_MS: String(slowMs * 3),
    ...sandboxes.env,
    ...sandboxes.actionEnv,
    VIGIL_ACTION_POLICY_FILE: policyFile,
    VIGIL_ENRICHMENT_TIMEOUT_MS: '50',
  });
  const db = await openDb(config.database);
  if (db.driver === 'pg') await db.exec('TRUNCATE action_attempts, actions, page_notices, pages, teams_users, enrichments, incident_cards, conversations, incidents, audit RESTART IDENTITY CASCADE');
  const app = await createApp(config, { logger: createLogger('silent'), db, providers: [] });
  const url = await app.listen(0, '127.0.0.1');
  const post = (body: unknown) => fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const base = {
    ...fixture('test/fixtures/contracts/activity.message.personal.json'),
    serviceUrl: connector.url,
    attachments: [],
    channelData: { tenant: { id: 'b28fdbfd-2b78-4f93-b0f8-8881793f0f8f' } },
  };
  await post({ ...fixture<Record<string, unknown>>('test/fixtures/contracts/activity.installationUpdate.add.fixed.json'), serviceUrl: connector.url });
  for (const who of [ALEX, MEGAN]) await post({ ...base, from: who, text: 'help' });

  const click = async (who: typeof ALEX, verb: string, data: Record<string, unknown>) => {
    const started = performance.now();
    const res = await post({ ...base, from: who, type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' } });
    const body = (await res.json()) as { value?: unknown };
    return { ms: performance.now() - started, at: Date.now(), card: JSON.stringify(body.value) };
  };

  const template = fixture('demo/incidents/brute-force-admin.json');
  const runId = Date.now().toString(36);
  /** One incident with its own attacker address; returns the request button's data. */
  const incident = async (n: number) => {
    const body = JSON.parse(JSON.stringify(template));
    body.object.id = body.object.id.replace(/[^/]+$/, `bench-${runId}-${n}`);
    body.object.properties.incidentNumber = 200_000 + n;
    // A fresh address each run (the slow ones in another range): a block of an address already there changes nothing.
    const address = n < 1000 ? `203.0.113.${(n % 250) + 1}` : `192.0.2.${(n % 250) + 1}`;
    body.object.properties.relatedEntities = [{ kind: 'Ip', properties: { address } }];
    const res = await fetch(`${url}/api/incidents`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench-secret-0123456789' }, body: JSON.stringify(body) });
    if (res.status !== 202) throw new Error(`incident ${n}: ${res.status}`);
    const card = await click(ALEX, 'card.refresh', { incident: 200_000 + n });
    const option = /"verb":"action\.request","data":(\{[^}]*\})/.exec(card.card)?.[1];
    if (!option) throw new Error('no request button on the card');
    return JSON.parse(option) as Record<string, unknown>;
  };
  const doneAt = async (n: number) => {
    for (;;) {
      const r = await db.query<{ state: string; ended_at: Date | null }>(`SELECT a.state, a.ended_at FROM actions a JOIN incidents i ON i.key = a.incident_key WHERE i.number = $1`, [200_000 + n]);
      const row = r.rows[0];
      if (row && (row.state === 'succeeded' || row.state === 'failed')) {
        if (row.state === 'failed') throw new Error(`action ${n} failed`);
        return new Date(row.ended_at!).getTime();
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const run = async (n: number) => {
    const option = await incident(n);
    const request = await click(ALEX, 'action.request', option);
    const id = /"action":"([0-9a-f-]{36})"/.exec(request.card)?.[1];
    const approve = await click(MEGAN, 'action.approve', { action: id! });
    if (!approve.card.includes('will run now')) throw new Error(`approval ${n} refused: ${approve.card.slice(0, 300)}`);
    return { request: request.ms, approve: approve.ms, done: (await doneAt(n)) - approve.at + approve.ms };
  };

  const quick = [];
  for (let n = 0; n < runs + 5; n++) {
    const r = await run(n);
    if (n >= 5) quick.push(r);
  }
  sandboxes.arm.set({ latencyMs: slowMs });
  // One after another: blocks at once on one NSG contend for the same two rules (etags, 412s), a limit of Azure's, not Vigil's.
  const slow = [];
  for (let i = 0; i < slowRuns; i++) slow.push(await run(1000 + i));
  await app.close();
  await db.close();
  await Promise.all([connector.close(), sandboxes.close()]);

  const line = (label: string, values: number[]) => {
    const s = summary(values);
    console.log(`  ${label.padEnd(44)} median ${ms(s.median)}   p99 ${ms(s.p99)}   max ${ms(s.max)}   (n=${s.n})`);
  };
  console.log(`Block IP through card clicks (${db.driver}); ARM answering at once:`);
  line(
    'invoke: request → card',
    quick.map((r) => r.request),
  );
  line(
    'invoke: approve → card',
    quick.map((r) => r.approve),
  );
  line(
    'click (approve) → done in Azure',
    quick.map((r) => r.done),
  );
  // One rule's chain: GET, PUT, then the operation polled until Succeeded (the stand-in says
  // InProgress once, Retry-After 0: two polls) with the read-back alongside. The other rule runs alongside.
  const chain = 4;
  const limit = chain * slowMs;
  console.log(`ARM taking ${slowMs} ms per call (${slowRuns} blocks one after another; a block is 2 rules side by side, ${chain} ARM calls in a row each):`);
  line(
    'invoke: request → card',
    slow.map((r) => r.request),
  );
  line(
    'invoke: approve → card',
    slow.map((r) => r.approve),
  );
  line(
    'click (approve) → done in Azure',
    slow.map((r) => r.done),
  );
  console.log(`  physical limit (${chain} ARM calls × ${slowMs} ms)              ${ms(limit)}   ratio ${(summary(slow.map((r) => r.done)).median / limit).toFixed(2)}×`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
