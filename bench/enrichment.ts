import { startRemoteSandboxes } from './remote-sandboxes';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { openDb } from '../src/store/open-db';
import { fixture } from '../test/helpers/fixtures';
import { emptyTables } from '../test/helpers/store-drivers';
import { ms, summary } from './stats';

/**
 * Time to the first card and to the enriched card against provider latency, for an incident with
 * a malicious IP and a privileged account (VirusTotal, AbuseIPDB, Graph, Log Analytics all asked).
 * Every upstream stand-in answers each request in L, as a real network would (no provider is
 * given a head start), and the stand-ins and the Bot Connector run in a process of their own
 * (bench/sandbox-process.ts): in Vigil's process a stand-in's 300 ms would start only once Vigil's
 * work let that event loop read the request, and its own work would be charged to Vigil. The physical limit of the enriched card is the slowest single upstream
 * request, L (look-ups start when the incident is stored, before the 202): the bench prints it
 * beside the median and the ratio. It also checks that the card reached its verdict (BLOCK
 * IMMEDIATELY, Critical, the user's facts) in ONE update. Each run posts to a channel of its own,
 * so Teams' per-conversation pacing never queues a card.
 *   npm run bench:enrichment                 (PGlite in memory)
 *   DATABASE_URL=postgres://… npm run bench:enrichment
 */
const LATENCIES = (process.env.BENCH_LATENCIES ?? '0,100,300,1000').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const SECRET = 'bench-secret-0123456789';

async function main() {
  const sandboxes = await startRemoteSandboxes();
  const connector = { url: sandboxes.connectorUrl };
  const config = loadConfig({
    ...sandboxes.env,
    VIGIL_WEBHOOK_SECRET: SECRET,
    LOG_LEVEL: 'silent',
    VIGIL_DATA_DIR: 'memory://',
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    VIGIL_ENRICHMENT_CACHE_SECONDS: '0',
    VIGIL_ENRICHMENT_TIMEOUT_MS: '10000',
  });
  const db = await openDb(config.database);
  // A PostgreSQL as empty as a new PGlite: an earlier run's incidents and channels would be replays.
  if (process.env.DATABASE_URL) await emptyTables(db);
  const app = await createApp(config, { logger: createLogger('silent'), db });
  const url = await app.listen(0, '127.0.0.1');
  const install = fixture('test/fixtures/contracts/activity.installationUpdate.add.fixed.json');
  const post = (path: string, body: unknown, auth = false) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${SECRET}` } : {}) }, body: JSON.stringify(body) });
  const template = fixture('demo/incidents/brute-force-admin.json');

  console.log('upstream latency per request L → first card, complete enriched card (median / p99), physical limit (L), median ÷ limit, updates per card');
  let run = 0;
  for (const latency of LATENCIES) {
    await sandboxes.setAll({ latencyMs: latency });
    const first: number[] = [];
    const enriched: number[] = [];
    const updates: number[] = [];
    const lookupsOut: number[] = [];
    const afterLast: number[] = [];
    for (let n = 0; n < RUNS + 2; n++) {
      run += 1;
      const team = `19:bench-team-${run}@thread.tacv2`;
      const channel = `19:bench-channel-${run}@thread.tacv2`;
      const previous = `19:bench-team-${run - 1}@thread.tacv2`;
      await post('/api/messages', {
        ...install,
        type: 'conversationUpdate',
        membersRemoved: [{ id: install.recipient.id }],
        serviceUrl: connector.url,
        conversation: { ...install.conversation, id: previous },
        channelData: { ...install.channelData, team: { id: previous } },
      });
      await post('/api/messages', {
        ...install,
        serviceUrl: connector.url,
        conversation: { ...install.conversation, id: channel },
        channelData: { ...install.channelData, team: { id: team }, channel: { id: channel } },
      });
      const body = JSON.parse(JSON.stringify(template));
      body.object.id = body.object.id.replace(/[^/]+$/, `bench-enrich-${run}`);
      body.object.properties.incidentNumber = 200_000 + run;
      const started = Date.now();
      const res = await post('/api/incidents', body, true);
      if (res.status !== 202) throw new Error(`${res.status} ${await res.text()}`);
      const posted = (await sandboxes.waitForConnector('POST', `/v3/conversations/${encodeURIComponent(channel)}/activities`, 1, 30_000))[0]!;
      const [updated] = await sandboxes.waitForConnector('PUT', `/v3/conversations/${encodeURIComponent(channel)}/activities/:id`, 1, 30_000);
      const card = JSON.stringify(updated!.body);
      if (!card.includes('BLOCK IMMEDIATELY') || !card.includes('Critical') || !card.includes('Jane Admin')) throw new Error('the first enriched update is not complete (verdict, Critical, the user)');
      if (n >= 2) {
        first.push(posted.at - started);
        enriched.push(updated!.at - started);
        // Where the time went: when the look-ups reached the stand-ins, and what came after the last answer.
        const asked = (await sandboxes.upstreamRequests(started)).filter((r) => r.at <= updated!.at).map((r) => r.at);
        if (asked.length > 0) {
          lookupsOut.push(Math.min(...asked) - started);
          afterLast.push(updated!.at - (Math.max(...asked) + latency));
        }
      }
      await app.enricher.idle();
      await new Promise((r) => setTimeout(r, 50));
      updates.push((await sandboxes.connectorRequests('PUT', `/v3/conversations/${encodeURIComponent(channel)}/activities/:id`)).length);
    }
    const f = summary(first);
    const e = summary(enriched);
    const ratio = latency > 0 ? `${(e.median / latency).toFixed(2)}×` : '—';
    console.log(
      `  L = ${String(latency).padStart(4)} ms   first ${ms(f.median)} / ${ms(f.p99)}   enriched ${ms(e.median)} / ${ms(e.p99)}   limit ${ms(latency)}   ratio ${ratio}   updates ${Math.min(...updates)}–${Math.max(...updates)}`,
    );
    console.log(`             look-ups at the stand-ins ${ms(summary(lookupsOut).median)} after the webhook; card ${ms(summary(afterLast).median)} after the last answer (medians)`);
  }
  await app.close();
  await db.close();
  await sandboxes.close();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
