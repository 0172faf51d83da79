import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBotConnector } from '../sandbox/bot-connector';
import { startSandboxes } from '../sandbox/sandboxes';
import { ROOT, startNode, type RunningProcess } from '../test/helpers/built-process';
import { demoIncident } from '../test/helpers/fixtures';
import { emptyTables } from '../test/helpers/store-drivers';
import { openDb } from '../src/store/open-db';
import { botInstalledInTeam } from '../test/helpers/teams-activities';
import { ms, percentile } from './stats';

/**
 * The first card after a start against the hundredth: the production build (`node dist/src/index.js`,
 * as `npm start` runs it) started as a fresh process against the sandbox's stand-ins, an incident
 * posted as soon as `/readyz` says ready, then more at a steady pace. Each start gets a data
 * directory of its own (PGlite on disk), or, with `DATABASE_URL`, a PostgreSQL emptied before it. The limit is the warm
 * median: the goal is a first card within twice it.
 *   npm run bench:cold                 (builds dist/ first; BENCH_SKIP_BUILD=1 to use it as it is)
 *   DATABASE_URL=postgres://… npm run bench:cold
 *   BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'   (more flags for Vigil's node, e.g. to profile it)
 *   BENCH_ENRICHMENT_CACHE_SECONDS=3600                     (the look-up cache on: the warm incidents answered from it)
 */
const SECRET = 'bench-cold-secret-0123456789';
const starts = Number(process.env.BENCH_STARTS ?? 4);
const warmCount = Number(process.env.BENCH_INCIDENTS ?? 20);
// A card and its enrichment update are two sends: one incident a second stays under Teams' 60 per 30 s.
const intervalMs = Number(process.env.BENCH_INTERVAL_MS ?? 1000);

const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

/**
 * CPU time of the process's main thread so far (Linux: /proc/<pid>/schedstat, in ns), or undefined
 * elsewhere. Unlike the wall clock it hardly moves when other work shares the cores, so the first
 * card's cold work shows even on a busy machine.
 */
const mainThreadCpuMs = (pid: number | undefined): number | undefined => {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
};

async function waitUntilReady(url: string, vigil: RunningProcess): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (vigil.child.exitCode !== null) throw new Error(`Vigil ended before it was ready:\n${vigil.stderr()}`);
    const res = await fetch(`${url}/readyz`).catch(() => undefined);
    if (res?.status === 200) return Date.now() - started;
    await res?.body?.cancel();
    await sleep(5);
  }
}

async function main() {
  if (!process.env.BENCH_SKIP_BUILD) execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const [connector, sandboxes] = await Promise.all([startBotConnector(), startSandboxes()]);
  // The stand-in runs in this process: its own first requests would be counted against Vigil's first card.
  for (let n = 0; n < 20; n++)
    await fetch(`${connector.url}/v3/conversations/prime/activities`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"message"}' }).then((r) => r.arrayBuffer());
  connector.reset();
  const runId = Date.now().toString(36);
  const template = demoIncident('brute-force-admin');
  let incidentNumber = 200_000;
  const rows: Array<{ start: number; toListening: number; toReady: number; first: number; warmMedian: number; firstAccepted: number; warmAccepted: number; firstCpu?: number; warmCpu?: number }> = [];

  for (let start = 1; start <= starts; start++) {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-cold-'));
    if (process.env.DATABASE_URL) {
      // A database as fresh as PGlite's new folder: earlier runs' incidents would be resumed and
      // their cards delivered to the channel on install, and its send budget already spent.
      const db = await openDb({ kind: 'pg', url: process.env.DATABASE_URL });
      await emptyTables(db);
      await db.close();
    }
    const spawned = Date.now();
    const vigil = startNode(path.join(ROOT, 'dist/src/index.js'), {
      cwd: workDir,
      args: ['--enable-source-maps', '--expose-gc', ...(process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)],
      env: {
        ...sandboxes.env,
        PORT: '0',
        HOST: '127.0.0.1',
        VIGIL_WEBHOOK_SECRET: SECRET,
        VIGIL_DATA_DIR: path.join(workDir, 'data'),
        ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
        LOG_LEVEL: 'info', // as deployed, and the listening line gives the port
        // Every incident asks every provider, as the first one does: with the cache, the warm ones
        // (the same entities each time) were answered from memory and did less work than the first.
        VIGIL_ENRICHMENT_CACHE_SECONDS: process.env.BENCH_ENRICHMENT_CACHE_SECONDS ?? '0',
      },
    });
    try {
      const url = await listeningUrl(vigil);
      const toListening = Date.now() - spawned;
      await waitUntilReady(url, vigil);
      const toReady = Date.now() - spawned;
      const install = await fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(botInstalledInTeam(connector.url)) });
      if (install.status >= 300) throw new Error(`install: ${install.status} ${await install.text()}`);
      const times: number[] = [];
      const cpu: number[] = [];
      const accepted: number[] = [];
      for (let n = 0; n <= warmCount; n++) {
        const body = JSON.parse(JSON.stringify(template));
        body.object.id = body.object.id.replace(/[^/]+$/, `cold-${runId}-${start}-${n}`);
        body.object.properties.incidentNumber = incidentNumber++;
        const before = connector.requests('POST', '/v3/conversations/:id/activities').length;
        const cpuBefore = mainThreadCpuMs(vigil.child.pid);
        const sent = Date.now();
        const res = await fetch(`${url}/api/incidents`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` }, body: JSON.stringify(body) });
        if (res.status !== 202) throw new Error(`incident ${n}: ${res.status} ${await res.text()}`);
        accepted.push(Date.now() - sent);
        const [card] = (await connector.waitFor('POST', '/v3/conversations/:id/activities', before + 1, 15_000)).slice(before);
        times.push(card!.at - sent);
        // The incident's whole work (its card, its enrichment, the update) is done well within the interval.
        await sleep(Math.max(0, intervalMs - (Date.now() - sent)));
        const cpuAfter = mainThreadCpuMs(vigil.child.pid);
        if (cpuBefore !== undefined && cpuAfter !== undefined) cpu.push(cpuAfter - cpuBefore);
      }
      const [first, ...warm] = times;
      rows.push({
        start,
        toListening,
        toReady,
        first: first!,
        warmMedian: percentile(warm, 50),
        firstAccepted: accepted[0]!,
        warmAccepted: percentile(accepted.slice(1), 50),
        ...(cpu.length > 1 ? { firstCpu: cpu[0], warmCpu: percentile(cpu.slice(1), 50) } : {}),
      });
    } finally {
      const code = await vigil.stop();
      if (code !== 0) console.error(`start ${start}: Vigil ended with ${code}\n${vigil.stderr()}`);
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  }
  await Promise.all([connector.close(), sandboxes.close()]);

  console.log(`first card after a cold start (node dist/src/index.js, ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite on disk'}, ${warmCount} warm cards after it, one every ${intervalMs} ms)`);
  console.log('  start  listening  ready      first card  warm median (limit)  first ÷ warm (goal ≤ 2×)  202: first / warm median  CPU ms per incident: first / warm median');
  for (const r of rows) {
    console.log(
      `  ${String(r.start).padEnd(5)}  ${ms(r.toListening).padEnd(9)}  ${ms(r.toReady).padEnd(9)}  ${ms(r.first).padEnd(10)}  ${ms(r.warmMedian).padEnd(19)}  ${`${(r.first / r.warmMedian).toFixed(2)}×`.padEnd(24)}  ${`${ms(r.firstAccepted)} / ${ms(r.warmAccepted)}`.padEnd(24)}  ${r.firstCpu === undefined ? '—' : `${r.firstCpu.toFixed(1)} / ${r.warmCpu!.toFixed(1)}`}`,
    );
  }
  const ratios = rows.map((r) => r.first / r.warmMedian);
  console.log(`  ratio: median ${percentile(ratios, 50).toFixed(2)}×, worst ${Math.max(...ratios).toFixed(2)}×`);
}

/** The base URL from pino's "Vigil is listening" line. */
async function listeningUrl(vigil: RunningProcess): Promise<string> {
  return (JSON.parse(await vigil.waitForLine(/Vigil is listening/)) as { url: string }).url;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
