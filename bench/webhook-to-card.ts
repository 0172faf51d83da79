import { startBotConnector } from '../sandbox/bot-connector';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { openDb } from '../src/store/open-db';
import { fixture } from '../test/helpers/fixtures';
import { ms, summary } from './stats';

/**
 * Time from a webhook POST to the card's arrival at the Bot Connector stand-in, for a few hundred
 * incidents into one channel. Incidents arrive every 550 ms — under Teams' 60-per-30-seconds limit
 * per conversation — so the figure is Vigil's own latency, not the pacer's deliberate queueing.
 * The first 20 incidents warm up the JIT and the database and are not counted.
 *   npm run bench                      (PGlite in memory)
 *   DATABASE_URL=postgres://… npm run bench
 */
async function main() {
  const count = Number(process.env.BENCH_INCIDENTS ?? 300);
  const intervalMs = Number(process.env.BENCH_INTERVAL_MS ?? 550);
  const warmUp = 20;
  const connector = await startBotConnector();
  const config = loadConfig({ VIGIL_WEBHOOK_SECRET: 'bench-secret-0123456789', LOG_LEVEL: 'silent', DATABASE_URL: process.env.DATABASE_URL, VIGIL_DATA_DIR: 'memory://' });
  const db = await openDb(config.database);
  if (db.driver === 'pg') await db.exec('TRUNCATE incident_cards, conversations, incidents CASCADE');
  const app = await createApp(config, { logger: createLogger('silent'), db });
  const url = await app.listen(0, '127.0.0.1');
  const install = { ...fixture('test/fixtures/contracts/activity.installationUpdate.add.fixed.json'), serviceUrl: connector.url };
  await fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(install) });

  const template = fixture('demo/incidents/brute-force-admin.json');
  const toCard: number[] = [];
  const toAccepted: number[] = [];
  const runId = Date.now().toString(36);
  for (let n = 0; n < count + warmUp; n++) {
    const body = JSON.parse(JSON.stringify(template));
    body.object.id = body.object.id.replace(/[^/]+$/, `bench-${runId}-${n}`);
    body.object.properties.incidentNumber = 100_000 + n;
    const before = connector.requests('POST').length;
    const started = Date.now();
    const res = await fetch(`${url}/api/incidents`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench-secret-0123456789' }, body: JSON.stringify(body) });
    const accepted = Date.now() - started;
    if (res.status !== 202) throw new Error(`incident ${n}: ${res.status} ${await res.text()}`);
    const [arrived] = (await connector.waitFor('POST', '/v3/conversations/:id/activities', before + 1)).slice(before);
    if (n >= warmUp) {
      toAccepted.push(accepted);
      toCard.push(arrived!.at - started);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - started))));
  }
  // The physical limit: one round trip to the Bot Connector with the same card, from this process.
  const lastCard = connector.requests('POST', '/v3/conversations/:id/activities').at(-1)!.body;
  const roundTrips: number[] = [];
  for (let n = 0; n < 100; n++) {
    const started = performance.now();
    const res = await fetch(`${connector.url}/v3/conversations/limit/activities`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(lastCard) });
    await res.arrayBuffer();
    if (n >= 20) roundTrips.push(performance.now() - started);
  }
  await app.close();
  await db.close();
  await connector.close();

  const card = summary(toCard);
  const accepted = summary(toAccepted);
  console.log(`webhook → card at the Bot Connector (${db.driver}, ${card.n} incidents, one channel)`);
  const limit = summary(roundTrips).median;
  console.log(`  median ${ms(card.median)}   p99 ${ms(card.p99)}   max ${ms(card.max)}   limit (one Bot Connector round trip) ${ms(limit)}   median ÷ limit ${(card.median / limit).toFixed(1)}×`);
  console.log(`webhook → 202 Accepted`);
  console.log(`  median ${ms(accepted.median)}   p99 ${ms(accepted.p99)}   max ${ms(accepted.max)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
