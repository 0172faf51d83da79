import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import type { RecordedRequest } from '../../sandbox/stand-in';
import { ROOT, startNode, type RunningProcess } from '../helpers/built-process';
import { demoIncident, withProperties } from '../helpers/fixtures';
import { botInstalledInTeam, CHANNEL_ID } from '../helpers/teams-activities';

const SECRET = 'two-replicas-secret-0123456789';
const MEGAN = '7faf8ab2-3d56-4244-b585-20c8a42ed2b8';
const TENANT = 'b28fdbfd-2b78-4f93-b0f8-8881793f0f8f';
const MEGANS_CHAT = 'a:chat-with-MeganBowen';
const INCIDENTS = 300;
const PAGES = 20;
/** Teams' per-conversation windows, exactly as documented (the pacer keeps slack inside them). */
const WINDOWS = [
  { max: 7, ms: 1_000 },
  { max: 8, ms: 2_000 },
  { max: 60, ms: 30_000 },
];

const adminUrl = process.env.DATABASE_URL;
const describeWithPostgres = adminUrl ? describe : describe.skip;

/** Megan installed Vigil in her own chat: Vigil knows her Teams id and has a 1:1 conversation. */
const meganInstalled = (serviceUrl: string) => ({
  ...botInstalledInTeam(serviceUrl),
  from: { id: '29:MeganBowen', name: 'Megan Bowen', aadObjectId: MEGAN },
  conversation: { conversationType: 'personal', id: MEGANS_CHAT, tenantId: TENANT },
  channelData: { tenant: { id: TENANT } },
});

/** Incident `n`: its own ARM id and number; the first PAGES are ransomware (always paged) and High. */
const incident = (n: number) => {
  const paged = n < PAGES;
  const body = withProperties(demoIncident('unfamiliar-signin'), {
    incidentNumber: 7000 + n,
    severity: paged ? 'High' : 'Low',
    title: paged ? `Ransomware note dropped on host ${n}` : `Unfamiliar sign-in ${n}`,
    createdTimeUtc: new Date(Date.UTC(2026, 11, 1, 8, 0, n)).toISOString(),
  });
  body.object.id = body.object.id.replace(/[^/]+$/, `replica-storm-${n}`);
  return body;
};

/** The conversation a send counts against at Teams: a channel thread is its channel. */
const conversationOf = (r: RecordedRequest) => decodeURIComponent(r.path.split('/')[3]!).split(';messageid=')[0]!;

/** The most sends any window of `ms` holds, sliding over the recorded arrival times. */
const busiestWindow = (times: number[], ms: number) => {
  const t = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= ms) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
};

const listeningUrl = async (p: RunningProcess) => (JSON.parse(await p.waitForLine(/Vigil is listening/, 60_000)) as { url: string }).url;

describeWithPostgres('two bot replicas on one PostgreSQL', () => {
  let connector: BotConnectorStandIn;
  let workDir: string;
  let database: string;
  const replicas: RunningProcess[] = [];

  const admin = async <T>(fn: (c: pg.Client) => Promise<T>) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    connector = await startBotConnector();
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-replicas-'));
    database = `vigil_replicas_${crypto.randomBytes(4).toString('hex')}`;
    await admin((c) => c.query(`CREATE DATABASE ${database}`));
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await connector?.close();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it("together stay inside every conversation's windows, and everything arrives", async () => {
    const url = new URL(adminUrl!);
    url.pathname = `/${database}`;
    // Digests of five lines: about a hundred sends into the channel, so the 60 in 30 s window binds too.
    // A schedule with one person on call, so that every page goes to Megan's chat.
    const schedule = path.join(workDir, 'oncall.yaml');
    fs.writeFileSync(
      schedule,
      fs.readFileSync(path.join(ROOT, 'test/fixtures/oncall.yaml'), 'utf8').replace(/people:\n\s+- 7faf8ab2[^\n]*\n\s+- a1b2c3d4-0000-4000-8000-000000000020[^\n]*\n/, `people:\n      - ${MEGAN}\n`),
    );
    const env = { PORT: '0', DATABASE_URL: url.toString(), VIGIL_WEBHOOK_SECRET: SECRET, VIGIL_ONCALL_FILE: schedule, VIGIL_DIGEST_THRESHOLD: '10', VIGIL_DIGEST_MAX_LINES: '5' };
    for (let i = 0; i < 2; i++) replicas.push(startNode(path.join(ROOT, 'dist/src/index.js'), { cwd: workDir, env: { ...env, LOG_LEVEL: 'info' } }));
    const [a, b] = await Promise.all(replicas.map(listeningUrl));
    const activity = async (base: string, body: unknown) =>
      expect((await fetch(`${base}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status).toBeLessThan(300);
    await activity(a!, botInstalledInTeam(connector.url));
    await activity(b!, meganInstalled(connector.url));
    connector.reset();

    // Ten at a time, alternating between the replicas' webhooks.
    for (let n = 0; n < INCIDENTS; n += 10) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, k) => {
          const res = await fetch(`${(n + k) % 2 ? b : a}/api/incidents`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
            body: JSON.stringify(incident(n + k)),
          });
          expect(res.status).toBe(202);
        }),
      );
    }

    const shownInChannel = () => {
      const text = connector
        .conversation(CHANNEL_ID)
        .map((x) => JSON.stringify(x.versions.at(-1)))
        .join('\n');
      return Array.from({ length: INCIDENTS }, (_, n) => 7000 + n).filter((number) => new RegExp(`#${number}\\b`).test(text));
    };
    const pageCards = () => connector.conversation(MEGANS_CHAT).filter((x) => (x.versions[0] as { summary?: string }).summary?.startsWith('Paged: incident #'));
    const mentions = () =>
      connector
        .requests('POST', '/v3/conversations/:id/activities')
        .filter((r) => decodeURIComponent(r.path).includes(';messageid=') && /you are paged/.test(String((r.body as { text?: string }).text)));
    const done = () => shownInChannel().length === INCIDENTS && pageCards().length === PAGES && mentions().length === PAGES;
    for (let waited = 0; !done() && waited < 240_000; waited += 500) await new Promise((r) => setTimeout(r, 500));

    expect(shownInChannel()).toHaveLength(INCIDENTS);
    expect(pageCards()).toHaveLength(PAGES);
    expect(mentions()).toHaveLength(PAGES);
    // The ransomware incidents (High) have cards of their own; the Low ones went into digests.
    const ownCards = connector.conversation(CHANNEL_ID).filter((x) => /Ransomware note dropped/.test(JSON.stringify(x.versions[0])) && !/digest/i.test(JSON.stringify(x.versions[0])));
    expect(ownCards.length).toBeGreaterThanOrEqual(PAGES);

    const sends = [
      ...connector.requests('POST', '/v3/conversations/:id/activities'),
      ...connector.requests('POST', '/v3/conversations/:id/activities/:replyTo'),
      ...connector.requests('PUT', '/v3/conversations/:id/activities/:activityId'),
    ];
    const byConversation = new Map<string, number[]>();
    for (const s of sends) byConversation.set(conversationOf(s), [...(byConversation.get(conversationOf(s)) ?? []), s.at]);
    const busiest = Object.fromEntries(
      [...byConversation].map(([c, times]) => [c, { sends: times.length, ...Object.fromEntries(WINDOWS.map((w) => [`${w.max}/${w.ms}ms`, busiestWindow(times, w.ms)])) }]),
    );
    console.log(`two replicas: ${JSON.stringify(busiest)}`);
    for (const times of byConversation.values()) for (const w of WINDOWS) expect(busiestWindow(times, w.ms)).toBeLessThanOrEqual(w.max);
    // Neither replica logged an error.
    expect(replicas.every((r) => !/"level":50/.test(r.stdout()))).toBe(true);
  }, 360_000);
});
