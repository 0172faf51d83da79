import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SANDBOX_PAGERDUTY_WEBHOOK_SECRET } from '../sandbox/pagerduty';
import { startSandboxes, type Sandboxes } from '../sandbox/sandboxes';
import type { SentinelIncidentResource } from '../sandbox/sentinel';
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { listSubscribedConversations } from '../src/store/conversation-repository';

const ROOT = path.resolve(__dirname, '..');
export const DEMO_DIR = path.join(ROOT, 'demo/incidents');
/** The second workspace's demo incident (fabrikam, in the Defender portal), for the Playground's Incidents channel. */
export const SECOND_WORKSPACE_CHANNEL = 'channel-incidents-id';
export const secondWorkspaceDemo = (): { object: SentinelIncidentResource } => JSON.parse(fs.readFileSync(path.join(ROOT, 'demo/fabrikam/xdr-exfiltration.json'), 'utf8'));

export interface LocalStackOptions {
  botPort: number;
  playgroundPort: number;
  /** The sandbox stand-ins listen on the next few ports (Sentinel shares ARM's, as in Azure). */
  sandboxBasePort: number;
  dataDir: string;
  logLevel: string;
  /** Extra environment for Vigil (a developer's .env wins over the sandbox defaults). */
  env?: Record<string, string | undefined>;
}

export interface LocalStack {
  app: App;
  botUrl: string;
  playgroundUrl: string;
  sandboxes: Sandboxes;
  webhookSecret: string;
  /** Resolves once the Playground has installed Vigil in a team channel. */
  /** Resolves once the Playground has installed Vigil in a team channel (`conversationId`: in that one). */
  channelInstalled(timeoutMs?: number, conversationId?: string): Promise<void>;
  postIncident(body: unknown): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

/** The demo incidents as trigger envelopes; updates (`*.update.json`) are left for the user to post. */
export const demoEnvelopes = (): Array<{ file: string; body: { object: SentinelIncidentResource } }> =>
  fs
    .readdirSync(DEMO_DIR)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.update.json'))
    .sort()
    .map((file) => ({ file, body: JSON.parse(fs.readFileSync(path.join(DEMO_DIR, file), 'utf8')) }));

const waitForHttp = async (url: string, timeoutMs: number) => {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status < 500,
      () => false,
    );
    if (ok) return;
    if (Date.now() > until) throw new Error(`${url} did not come up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

/**
 * Everything `npm run dev` runs, in one process tree: the sandbox (Sentinel seeded with the demo
 * incidents, VirusTotal, AbuseIPDB, Graph, ARM, Defender, Log Analytics), Vigil in local mode
 * against it, and the Microsoft 365 Agents Playground as the Teams client. The end-to-end test
 * drives the very same stack.
 */
export async function startLocalStack(o: LocalStackOptions): Promise<LocalStack> {
  const sandboxes = await startSandboxes(
    o.sandboxBasePort,
    demoEnvelopes().map((d) => d.body.object),
  );
  // Sentinel knows fabrikam's incident too (comments, assignments, closes from its card).
  sandboxes.putIncident(secondWorkspaceDemo().object);
  const config = loadConfig({
    LOG_LEVEL: o.logLevel,
    VIGIL_DATA_DIR: o.dataDir,
    ...sandboxes.env,
    VIGIL_ONCALL_FILE: path.join(ROOT, 'demo/oncall.yaml'),
    PAGERDUTY_ENDPOINT: sandboxes.pagerDuty.url,
    PAGERDUTY_ROUTING_KEY: 'sandboxsandboxsandboxsandbox0000',
    // Two-way: the stand-in's webhooks (an acknowledgement in "PagerDuty") come back signed.
    PAGERDUTY_WEBHOOK_SECRETS: SANDBOX_PAGERDUTY_WEBHOOK_SECRET,
    ...sandboxes.actionEnv,
    VIGIL_ACTION_POLICY_FILE: path.join(ROOT, 'demo/actions.yaml'),
    // Critical incidents open a case in the ServiceNow stand-in.
    ...sandboxes.caseEnv.servicenow,
    VIGIL_CASE_POLICY_FILE: path.join(ROOT, 'demo/cases.yaml'),
    // Two workspaces: contoso (the demo incidents) and fabrikam, whose incidents go to the Incidents channel.
    VIGIL_WORKSPACES_FILE: path.join(ROOT, 'demo/workspaces.yaml'),
    ...o.env,
    PORT: String(o.botPort),
    HOST: '127.0.0.1',
  });
  const app = await createApp(config, { logger: createLogger(config.logLevel) });
  // Local mode always has a webhook secret (local-dev-secret unless the developer's .env sets one).
  const webhookSecret = config.webhookSecret!;
  const botUrl = await app.listen();
  sandboxes.pagerDuty.subscribe(`${botUrl}/api/pagerduty`, config.pagerDutyWebhookSecrets);

  const playgroundUrl = `http://127.0.0.1:${o.playgroundPort}`;
  const playgroundLog: string[] = [];
  const keep = (chunk: Buffer) => {
    playgroundLog.push(chunk.toString());
    if (playgroundLog.length > 200) playgroundLog.shift();
  };
  const spawnPlayground = () => {
    const child: ChildProcess = spawn(
      path.join(ROOT, 'node_modules/.bin/agentsplayground'),
      ['--app-endpoint', `${botUrl}/api/messages`, '-c', 'msteams', '-p', String(o.playgroundPort), '--disable-telemetry'],
      // Its own process group, so stopping it also stops whatever the Playground CLI started.
      { cwd: ROOT, env: { ...process.env, TEAMSAPPTESTER_BROWSER: 'none' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return { child, exited: new Promise<number | null>((resolve) => child.once('exit', resolve)) };
  };
  const signalGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  let { child: playground, exited } = spawnPlayground();
  // On a loaded machine the Playground CLI has been seen to hang on its way up: it gets one more start.
  for (let attempt = 1; ; attempt++) {
    const up = await Promise.race([
      waitForHttp(playgroundUrl, 60_000).then(() => true),
      exited.then((code) => {
        throw new Error(`the Playground exited (${code}) before it was up:\n${playgroundLog.join('')}`);
      }),
    ]).catch((e: unknown) => {
      if (attempt >= 2) throw new Error(`${e instanceof Error ? e.message : String(e)}\nPlayground output:\n${playgroundLog.join('')}`);
      return false;
    });
    if (up) break;
    signalGroup(playground, 'SIGKILL');
    await exited;
    ({ child: playground, exited } = spawnPlayground());
  }

  return {
    app,
    botUrl,
    playgroundUrl,
    sandboxes,
    webhookSecret,
    async channelInstalled(timeoutMs = 120_000, conversationId?: string) {
      const until = Date.now() + timeoutMs;
      const installed = async () => (await listSubscribedConversations(app.db)).some((c) => conversationId === undefined || c.id === conversationId);
      while (!(await installed())) {
        if (Date.now() > until) throw new Error('the Playground did not install Vigil in a team channel');
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async postIncident(body) {
      const res = await fetch(`${botUrl}/api/incidents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${webhookSecret}` },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.text() };
    },
    async stop() {
      signalGroup(playground, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      signalGroup(playground, 'SIGKILL');
      playground.stdout?.destroy();
      playground.stderr?.destroy();
      await app.close();
      await sandboxes.close();
    },
  };
}
