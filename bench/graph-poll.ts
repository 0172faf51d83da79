import { startGraph } from '../sandbox/graph';
import { createGraphSecurityRoutes } from '../sandbox/graph-security';
import { demoUnifiedIncident } from '../sandbox/graph-security-data';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { openDb } from '../src/store/open-db';

/**
 * Graph incident poll: BENCH_GRAPH_INCIDENTS (1000) unified incidents, each with three alerts and
 * eleven evidence entities, in the Graph stand-in; one poll reads them all (pages of
 * BENCH_GRAPH_PAGE, 50) and stores them; a second poll re-reads the same window (the overlap) and
 * stores nothing. Prints incidents per second for both and the pages read, beside the poll
 * interval they must fit in (60 s).
 *   npm run bench:graph-poll                 (PGlite in memory)
 *   DATABASE_URL=postgres://… npm run bench:graph-poll
 */
async function main() {
  const total = Number(process.env.BENCH_GRAPH_INCIDENTS ?? 1000);
  const pageSize = Number(process.env.BENCH_GRAPH_PAGE ?? 50);
  const base = 5_000_000 + (Date.now() % 1_000_000) * 10;
  const now = new Date().toISOString();
  const security = createGraphSecurityRoutes(
    Array.from({ length: total }, (_, n) => demoUnifiedIncident(String(base + n), now)),
    { pageSize },
  );
  const graph = await startGraph({ extraRoutes: security.routes });
  const config = loadConfig({
    VIGIL_WEBHOOK_SECRET: 'bench-secret-0123456789',
    LOG_LEVEL: 'silent',
    DATABASE_URL: process.env.DATABASE_URL,
    VIGIL_DATA_DIR: 'memory://',
    GRAPH_ENDPOINT: graph.url,
    VIGIL_POLL_GRAPH_INCIDENTS: 'on',
  });
  const db = await openDb(config.database);
  if (db.driver === 'pg') await db.exec('TRUNCATE incident_cards, digests, conversations, incidents CASCADE; DELETE FROM ingest_cursors');
  const app = await createApp(config, { logger: createLogger('silent'), db, providers: [], poller: { intervalMs: 3_600_000, pageSize } });
  const poll = async (what: string) => {
    const pagesBefore = graph.requests('GET', '/v1.0/security/incidents').length;
    const started = performance.now();
    const report = await app.graphPoller!.pollNow();
    const ms = performance.now() - started;
    const pages = graph.requests('GET', '/v1.0/security/incidents').length - pagesBefore;
    console.log(`${what}: ${JSON.stringify(report)} in ${ms.toFixed(0)} ms, ${pages} pages, ${((total / ms) * 1000).toFixed(0)} incidents/s (goal: well inside the 60 s interval)`);
  };
  // Not app.listen(): the timer's first poll would race the measured one; the poller alone is measured.
  await poll(`first poll, ${total} new incidents (${db.driver})`);
  await poll('second poll, the same window again');
  await app.close();
  await db.close();
  await graph.close();
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
