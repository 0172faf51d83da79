import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startBotConnector } from '../sandbox/bot-connector';
import { ROOT, startNode, type RunningProcess } from '../test/helpers/built-process';
import { demoIncident, withProperties } from '../test/helpers/fixtures';
import { botInstalledInTeam, CHANNEL_ID } from '../test/helpers/teams-activities';

/**
 * The one window the Bot Connector leaves open: it takes no idempotency key, so a process killed
 * between Teams' answer and the store's write posts that card again when another process takes
 * the card over. The built bot (`node dist/src/index.js`, PostgreSQL) takes BENCH_KILL_INCIDENTS
 * (300) incidents ten at a time and is SIGKILLed at a random moment after each ten, while their
 * cards go out, and restarted at once; at the end it
 * counts the incidents whose card was posted more than once. Needs `npm run build` and DATABASE_URL.
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:kill
 */
const SECRET = 'outbox-kill-secret-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) throw new Error('DATABASE_URL is required: the kill bench runs the bot on PostgreSQL');
  if (!fs.existsSync(path.join(ROOT, 'dist/src/index.js'))) throw new Error('npm run build first: the bench kills the production build');
  const total = Number(process.env.BENCH_KILL_INCIDENTS ?? 300);
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    await c.query(sql).finally(() => c.end());
  };
  const database = `vigil_kill_bench_${crypto.randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${database}`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const connector = await startBotConnector();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-kill-'));
  // Fixed port, so the senders find each new process where the last one was.
  const port = 41_000 + Math.floor(Math.random() * 2000);
  const base = `http://127.0.0.1:${port}`;
  const env = { PORT: String(port), DATABASE_URL: url.toString(), VIGIL_WEBHOOK_SECRET: SECRET, LOG_LEVEL: 'warn', VIGIL_DIGEST_THRESHOLD: '10000' };
  const launch = () => startNode(path.join(ROOT, 'dist/src/index.js'), { cwd: workDir, env });
  let bot: RunningProcess = launch();
  /** Until the bot answers ready; one that died on the way up (the port still held) is started again. */
  const up = async () => {
    for (let tries = 0; ; tries++) {
      const ok = await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (bot.child.exitCode !== null) {
        if (tries > 600) throw new Error(`the bot does not start:\n${bot.stderr()}`);
        bot = launch();
      }
      await sleep(50);
    }
  };
  await up();
  await fetch(`${base}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(botInstalledInTeam(connector.url)) });
  connector.reset();

  /** A playbook's retry: until the incident is durable (202) or refused. */
  const send = async (n: number) => {
    const body = withProperties(demoIncident('unfamiliar-signin'), { incidentNumber: 50_000 + n, title: `Kill bench incident ${n}` });
    body.object.id = body.object.id.replace(/[^/]+$/, `kill-bench-${n}`);
    for (;;) {
      const status = await fetch(`${base}/api/incidents`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` }, body: JSON.stringify(body) }).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 202) return;
      await sleep(100);
    }
  };
  const postsOf = () => {
    const counts = new Map<number, number>();
    for (const r of connector.requests('POST', '/v3/conversations/:id/activities')) {
      const m = /Incident #(5\d{4})\b/.exec(JSON.stringify(r.body));
      if (m) counts.set(Number(m[1]), (counts.get(Number(m[1])) ?? 0) + 1);
    }
    return counts;
  };

  // Each round: ten incidents arrive, and at a random moment while their cards go out the bot is killed.
  let kills = 0;
  const started = Date.now();
  for (let n = 0; n < total; n += 10) {
    await Promise.all(Array.from({ length: Math.min(10, total - n) }, (_, k) => send(n + k)));
    await sleep(Math.random() * 400);
    bot.child.kill('SIGKILL');
    await bot.exited;
    kills += 1;
    bot = launch();
    await up();
  }
  // After the last kill, a quiet while for the outbox to finish (leases of the dead run out).
  for (let waited = 0; postsOf().size < total && waited < 180_000; waited += 500) await sleep(500);
  const counts = postsOf();
  const twice = [...counts.values()].filter((c) => c > 1).length;
  const posts = [...counts.values()].reduce((a, b) => a + b, 0);
  console.log(
    JSON.stringify({
      incidents: total,
      kills,
      cardsArrived: counts.size,
      posts,
      postedTwiceOrMore: twice,
      channel: connector.conversation(CHANNEL_ID).length,
      seconds: Math.round((Date.now() - started) / 1000),
    }),
  );
  await bot.stop();
  await connector.close();
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  fs.rmSync(workDir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
