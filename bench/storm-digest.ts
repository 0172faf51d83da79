import { startBotConnector } from '../sandbox/bot-connector';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { openDb } from '../src/store/open-db';
import { fixture } from '../test/helpers/fixtures';

/**
 * A storm into one channel: BENCH_STORM Low incidents (500) and a few High ones, posted as fast as
 * the webhook takes them. Prints how many sends reached the Bot Connector and how long until every
 * incident was visible — High ones as their own cards, the rest as digest lines — where one card
 * per incident would need minutes at Teams' 60 per 30 seconds.
 *   npx tsx bench/storm-digest.ts        (PGlite in memory; DATABASE_URL=postgres://… for PostgreSQL)
 */
async function main() {
  const lows = Number(process.env.BENCH_STORM ?? 500);
  const highs = 5;
  const connector = await startBotConnector();
  const config = loadConfig({ VIGIL_WEBHOOK_SECRET: 'bench-secret-0123456789', LOG_LEVEL: 'silent', DATABASE_URL: process.env.DATABASE_URL, VIGIL_DATA_DIR: 'memory://' });
  const db = await openDb(config.database);
  if (db.driver === 'pg') await db.exec('TRUNCATE incident_cards, digests, conversations, incidents CASCADE');
  const app = await createApp(config, { logger: createLogger('silent'), db });
  const url = await app.listen(0, '127.0.0.1');
  const install = { ...fixture('test/fixtures/contracts/activity.installationUpdate.add.fixed.json'), serviceUrl: connector.url };
  await fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(install) });

  const template = fixture('demo/incidents/unfamiliar-signin.json');
  const runId = Date.now().toString(36);
  const started = Date.now();
  for (let n = 0; n < lows + highs; n++) {
    const body = JSON.parse(JSON.stringify(template));
    body.object.id = body.object.id.replace(/[^/]+$/, `storm-${runId}-${n}`);
    body.object.properties.incidentNumber = 200_000 + n;
    // The High ones arrive spread through the storm.
    body.object.properties.severity = n % Math.floor((lows + highs) / highs) === 0 ? 'High' : 'Low';
    const res = await fetch(`${url}/api/incidents`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer bench-secret-0123456789' }, body: JSON.stringify(body) });
    if (res.status !== 202) throw new Error(`incident ${n}: ${res.status} ${await res.text()}`);
  }
  const stored = Date.now() - started;

  const visible = () => {
    const numbers = new Set<number>();
    for (const a of connector.conversation(install.conversation.id.split(';')[0])) {
      const text = JSON.stringify(a.versions.at(-1));
      for (const m of text.matchAll(/"incident":(\d+)/g)) numbers.add(Number(m[1]));
      for (const m of text.matchAll(/Incident #(\d+)/g)) numbers.add(Number(m[1]));
    }
    return numbers.size;
  };
  while (visible() < lows + highs) await new Promise((r) => setTimeout(r, 20));
  const allVisible = Date.now() - started;
  await app.outbox.idle();
  const posts = connector.requests('POST', '/v3/conversations/:id/activities').length;
  const updates = connector.requests('PUT', '/v3/conversations/:id/activities/:activityId').length;
  await app.close();
  await db.close();
  await connector.close();

  console.log(`storm into one channel (${db.driver}): ${lows} Low + ${highs} High incidents, all stored in ${(stored / 1000).toFixed(1)} s`);
  console.log(`  every incident visible after ${(allVisible / 1000).toFixed(1)} s, with ${posts} posts and ${updates} updates`);
  console.log(`  (one card each would be ${lows + highs} posts: about ${Math.ceil((lows + highs) / 60) * 30} s at 60 per 30 s)`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
