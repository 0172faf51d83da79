import http from 'node:http';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { openDb } from '../src/store/open-db';
import { fixture } from '../test/helpers/fixtures';

/**
 * Storm ingest: BENCH_INGEST incidents (3000) posted to the webhook with BENCH_INFLIGHT (64) in
 * flight, as a playbook storm arrives; every 202 means the incident is durable. Prints incidents
 * stored per second beside the goal (1,000/s on PostgreSQL, 300/s on PGlite) and, as the physical
 * limit, the webhook answering the same requests without storing them (parse + auth + HTTP only).
 *   npm run bench:ingest                 (PGlite in memory)
 *   DATABASE_URL=postgres://… npm run bench:ingest
 */
async function main() {
  const total = Number(process.env.BENCH_INGEST ?? 3000);
  const inflight = Number(process.env.BENCH_INFLIGHT ?? 64);
  const config = loadConfig({ VIGIL_WEBHOOK_SECRET: 'bench-secret-0123456789', LOG_LEVEL: 'silent', DATABASE_URL: process.env.DATABASE_URL, VIGIL_DATA_DIR: 'memory://' });
  const db = await openDb(config.database);
  if (db.driver === 'pg') await db.exec('TRUNCATE incident_cards, digests, conversations, incidents CASCADE');
  const app = await createApp(config, { logger: createLogger('silent'), db, providers: [] });
  const url = await app.listen(0, '127.0.0.1');
  const template = fixture('demo/incidents/unfamiliar-signin.json');
  const runId = Date.now().toString(36);
  const body = (n: number, valid = true) => {
    const b = JSON.parse(JSON.stringify(template));
    b.object.id = b.object.id.replace(/[^/]+$/, `ingest-${runId}-${n}`);
    b.object.properties.incidentNumber = 300_000 + n;
    if (!valid) b.object.properties.severity = 'Nonsense';
    return JSON.stringify(b);
  };
  // The storm's senders on node:http with kept-alive connections: fetch (undici) costs the shared
  // process several times the CPU per request, which the bench would then charge to Vigil.
  const agent = new http.Agent({ keepAlive: true, maxSockets: inflight });
  const target = new URL(`${url}/api/incidents`);
  const post = (data: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), authorization: 'Bearer bench-secret-0123456789' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(data);
    });
  const storm = async (count: number, valid: boolean, expect: number) => {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: inflight }, async () => {
        while (next < count) {
          const n = next++;
          const status = await post(body(n, valid));
          if (status !== expect) throw new Error(`incident ${n}: ${status}`);
        }
      }),
    );
    return count / ((performance.now() - started) / 1000);
  };
  await storm(200, true, 202); // warm-up, not counted
  const stored = await storm(total, true, 202);
  // The same requests refused at the schema check, before the store: what HTTP, auth and parsing alone allow.
  const limit = await storm(total, false, 400);
  const goal = db.driver === 'pg' ? 1000 : 300;
  agent.destroy();
  await app.close();
  await db.close();
  console.log(
    `storm ingest (${db.driver}, one process, ${inflight} in flight, ${total} incidents): ${stored.toFixed(0)} stored/s   goal ${goal}/s   limit (webhook without the store) ${limit.toFixed(0)}/s   ratio ${(stored / limit).toFixed(2)}`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
