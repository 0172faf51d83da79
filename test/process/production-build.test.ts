import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import { ROOT, startNode, type RunningProcess } from '../helpers/built-process';
import { demoIncident } from '../helpers/fixtures';
import { botInstalledInTeam, CHANNEL_ID, personalMessage } from '../helpers/teams-activities';

const SECRET = 'production-build-secret-0123456789';

/** The base URL from pino's "Vigil is listening" line. */
const listeningUrl = async (p: RunningProcess) => (JSON.parse(await p.waitForLine(/Vigil is listening/)) as { url: string }).url;

const cardText = (activity: Record<string, unknown>) => JSON.stringify(activity.attachments ?? []);

describe('the production build: npm run build && npm start', () => {
  let connector: BotConnectorStandIn;
  let sandboxes: Sandboxes;
  let workDir: string;

  beforeAll(async () => {
    // dist/ is built once for the whole run (test/global-build.ts).
    [connector, sandboxes] = await Promise.all([startBotConnector(), startSandboxes()]);
    // Another folder as the working directory: assets must come from the package, not from cwd.
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-prod-'));
  });
  afterAll(async () => {
    await Promise.all([connector?.close(), sandboxes?.close()]);
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('starts dist/ with no warning, turns an incident into a card and answers help', async () => {
    const vigil = startNode(path.join(ROOT, 'dist/src/index.js'), {
      cwd: workDir,
      args: ['--enable-source-maps'], // as `npm start` runs it
      env: { ...sandboxes.env, PORT: '0', VIGIL_WEBHOOK_SECRET: SECRET, VIGIL_DATA_DIR: path.join(workDir, 'data'), LOG_LEVEL: 'info' },
    });
    try {
      const url = await listeningUrl(vigil);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', templates: 'loaded' });

      const install = await fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(botInstalledInTeam(connector.url)) });
      expect(install.status).toBeLessThan(300);
      const posted = await fetch(`${url}/api/incidents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
        body: JSON.stringify(demoIncident('brute-force-admin')),
      });
      expect(posted.status).toBe(202);
      const [card] = await connector.waitFor('POST', '/v3/conversations/:id/activities', 1, 15_000);
      expect(card!.path).toBe(`/v3/conversations/${encodeURIComponent(CHANNEL_ID)}/activities`);
      const text = cardText(card!.body as Record<string, unknown>);
      expect(text).toContain('Multiple failed sign-ins followed by success for a Global Administrator');
      expect(text).toContain('Incident #1041');
      // Enrichment reaches the sandbox's sources and the named KQL queries (queries/) from dist too.
      const enriched = await connector.waitFor('PUT', '/v3/conversations/:id/activities/:activityId', 1, 15_000);
      expect(cardText(enriched.at(-1)!.body as Record<string, unknown>)).toMatch(/VirusTotal|AbuseIPDB/);
      expect(sandboxes.logAnalytics.requests('POST', '/v1/workspaces/:id/query').length).toBeGreaterThan(0);

      await fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(personalMessage(connector.url, 'help')) });
      const [reply] = await connector.waitFor('POST', '/v3/conversations/:id/activities/:replyTo', 1, 15_000);
      const help = cardText(reply!.body as Record<string, unknown>);
      expect(help).toContain('incidents');
      expect(help).toContain('kql');
      expect(help).not.toMatch(/something went wrong/i);
    } finally {
      expect(await vigil.stop()).toBe(0);
    }
    expect(vigil.stderr()).not.toMatch(/Warning|DEP0\d+/);
    expect(vigil.stdout()).not.toMatch(/ENOENT|"level":50/);
  }, 60_000);

  it('refuses to start with a broken card template, naming the file', async () => {
    // A copy of the installed package whose incident template is broken.
    const pkg = path.join(workDir, 'broken-package');
    fs.mkdirSync(pkg);
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
    for (const dir of ['dist', 'cards', 'queries']) fs.cpSync(path.join(ROOT, dir), path.join(pkg, dir), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
    fs.writeFileSync(path.join(pkg, 'cards/incident.json'), '{ "type": "AdaptiveCard", "body": [ ');

    const vigil = startNode(path.join(pkg, 'dist/src/index.js'), { cwd: workDir, env: { PORT: '0', VIGIL_DATA_DIR: 'memory://', LOG_LEVEL: 'info' } });
    expect(await vigil.exited).toBe(1);
    expect(vigil.stderr()).toMatch(/card template .*incident\.json is broken/);
    expect(vigil.stdout()).not.toMatch(/Vigil is listening/);
  }, 30_000);
});
