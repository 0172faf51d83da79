import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nsgId } from '../../sandbox/arm';
import { startEntra, startTlsFront, type EntraStandIn } from '../../sandbox/entra';
import { SANDBOX_IDENTITY } from '../../sandbox/graph';
import { SANDBOX_ABUSEIPDB_KEY, SANDBOX_VT_KEY, startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import { createPgliteDb } from '../../src/store/pglite-db';
import { migrate } from '../../src/store/migrations';

const ROOT = path.resolve(__dirname, '../..');
const WEBHOOK_SECRET = 'doctor-test-webhook-secret-5b7c1e';
const ROUTING_KEY = 'R0UT1NGKEYd0ct0rTEST000000000042';
const GRAPH_ROLES = ['User.Read.All', 'RoleManagement.Read.Directory', 'IdentityRiskyUser.Read.All', 'GroupMember.Read.All', 'User.EnableDisableAccount.All', 'User.RevokeSessions.All'];
const DEFENDER_ROLES = ['Machine.Read.All', 'Machine.Isolate', 'Ti.ReadWrite'];

/** Runs `npm run doctor` as a deployer would: its own process, settings from the environment only. */
const doctor = (env: Record<string, string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    // The production build (test/global-build.ts), as `npm run doctor` runs it.
    execFile(process.execPath, [path.join(ROOT, 'dist/src/doctor.js')], { cwd: os.tmpdir(), env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

const lines = (stdout: string) => stdout.split('\n').filter((l) => l.trim() !== '');
const lineFor = (stdout: string, name: string) => lines(stdout).find((l) => l.slice(2).startsWith(`${name} —`));

describe('npm run doctor against the sandbox', () => {
  let sandboxes: Sandboxes;
  let entra: EntraStandIn;
  // The Log Analytics SDK sends tokens over https only, as the service is: its stand-in sits behind an https front.
  let logs: Awaited<ReturnType<typeof startTlsFront>>;
  let dir: string;
  let migrated: string;
  let graphRoles: string[];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-doctor-'));
    sandboxes = await startSandboxes();
    entra = await startEntra();
    logs = await startTlsFront(sandboxes.logAnalytics.port);
    // Vigil's user-assigned identity, as App Service hands out its tokens; roles follow the audience.
    entra.registerApp({
      clientId: SANDBOX_IDENTITY.clientId,
      objectId: SANDBOX_IDENTITY.objectId,
      managedIdentity: true,
      roles: (audience) => (audience === sandboxes.graph.url ? graphRoles : audience === sandboxes.defender.url ? DEFENDER_ROLES : []),
    });
    migrated = path.join(dir, 'migrated');
    const db = await createPgliteDb(migrated);
    await migrate(db);
    await db.close();
  });
  afterAll(async () => {
    await logs.close();
    await sandboxes.close();
    await entra.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    graphRoles = GRAPH_ROLES;
    sandboxes.all.forEach((s) => s.reset());
    entra.reset();
  });

  /** Production-shaped settings: a user-assigned managed identity for the bot and for Azure, every feature on. */
  const production = (): Record<string, string> => ({
    ...sandboxes.env,
    ...sandboxes.actionEnv,
    LOGS_ENDPOINT: logs.url,
    NODE_EXTRA_CA_CERTS: logs.caFile,
    MicrosoftAppId: SANDBOX_IDENTITY.clientId,
    MicrosoftAppType: 'UserAssignedMSI',
    MicrosoftAppTenantId: entra.tenantId,
    VIGIL_WEBHOOK_SECRET: WEBHOOK_SECRET,
    AZURE_USE_MANAGED_IDENTITY: 'true',
    AZURE_CLIENT_ID: SANDBOX_IDENTITY.clientId,
    IDENTITY_ENDPOINT: entra.identityEndpoint,
    IDENTITY_HEADER: entra.identityHeader,
    VIGIL_DATA_DIR: migrated,
    VIGIL_ACTION_POLICY_FILE: path.join(ROOT, 'test/fixtures/actions.yaml'),
    VIGIL_ONCALL_FILE: path.join(ROOT, 'test/fixtures/oncall.yaml'),
    PAGERDUTY_ROUTING_KEY: ROUTING_KEY,
    PAGERDUTY_ENDPOINT: sandboxes.pagerDuty.url,
  });
  const secrets = [WEBHOOK_SECRET, ROUTING_KEY, SANDBOX_VT_KEY, SANDBOX_ABUSEIPDB_KEY];

  it('prints one ✓ per configured piece and exits 0, with no secret in the output', async () => {
    const result = await doctor(production());
    expect(result.stderr).toBe('');
    const out = lines(result.stdout);
    expect(out.filter((l) => !l.startsWith('✓ '))).toEqual([]);
    expect(result.code).toBe(0);
    for (const name of [
      'settings',
      'database',
      'Bot Framework credential',
      'Azure credential',
      'Sentinel workspace',
      'BLOCK_NSG_ID edge-nsg',
      'ISOLATION_NSG_ID isolation-nsg',
      'Microsoft Graph',
      'Graph app roles',
      'Defender for Endpoint',
      'Defender app roles',
      'Log Analytics',
      'VirusTotal',
      'AbuseIPDB',
      'PagerDuty',
      'action policy',
      'on-call schedule',
    ]) {
      expect(lineFor(result.stdout, name)).toBeDefined();
    }
    for (const s of [...secrets, entra.identityHeader]) expect(result.stdout + result.stderr).not.toContain(s);
    // What reached the other side: the identity's tokens, a no-op PagerDuty event, reads only.
    expect(entra.issued.filter((t) => t.grant === 'managed_identity').map((t) => t.audience)).toEqual(
      expect.arrayContaining(['https://api.botframework.com', sandboxes.graph.url, sandboxes.defender.url, sandboxes.arm.url, logs.url]),
    );
    expect(sandboxes.pagerDuty.requests('POST', '/v2/enqueue').map((r) => (r.body as { event_action: string }).event_action)).toEqual(['resolve']);
    for (const s of sandboxes.all) expect(s.requests().filter((r) => r.method !== 'GET' && s !== sandboxes.pagerDuty && s !== sandboxes.logAnalytics)).toEqual([]);
    expect(
      sandboxes.arm.requests('GET', '/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.OperationalInsights/workspaces/:ws/providers/Microsoft.SecurityInsights/incidents')[0]!.query,
    ).toMatchObject({ $top: '1' });
    expect(sandboxes.graph.requests('GET', '/v1.0/users')[0]!.headers.authorization).toMatch(/^Bearer /);
  });

  it('names each broken piece with ✗ and exits 1', async () => {
    graphRoles = GRAPH_ROLES.filter((r) => r !== 'User.RevokeSessions.All');
    const unmigrated = path.join(dir, 'half');
    const db = await createPgliteDb(unmigrated);
    await db.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    await db.query("INSERT INTO schema_migrations (version, name) VALUES (1, 'incidents, conversations, cards, audit')");
    await db.close();
    const brokenPolicy = path.join(dir, 'broken-actions.yaml');
    fs.writeFileSync(brokenPolicy, 'defaults:\n  requesters: { groups: ["not-a-group-id"] }\n  approvals: 1\n');
    const wrongKey = 'wrong-virustotal-key-8d2f4a';
    const result = await doctor({
      ...production(),
      VIRUSTOTAL_API_KEY: wrongKey,
      BLOCK_NSG_ID: nsgId('no-such-nsg'),
      VIGIL_DATA_DIR: unmigrated,
      VIGIL_ACTION_POLICY_FILE: brokenPolicy,
    });
    expect(result.code).toBe(1);
    expect(lineFor(result.stdout, 'VirusTotal')).toMatch(/^✗ VirusTotal — HTTP 401.*VIRUSTOTAL_API_KEY/);
    expect(lineFor(result.stdout, 'BLOCK_NSG_ID no-such-nsg')).toMatch(/^✗ .*HTTP 404 ResourceNotFound: no network security group .*no-such-nsg; check BLOCK_NSG_ID/);
    expect(lineFor(result.stdout, 'Graph app roles')).toMatch(
      /^✗ Graph app roles — missing User\.RevokeSessions\.All \(Disable user\); run npm run grant-permissions -- --principal-id 6b8f2e1d-0000-4000-8000-0000000f1d01/,
    );
    expect(lineFor(result.stdout, 'database')).toMatch(/^✗ database — PGlite in .*: not migrated \(schema at version 1 of \d+\)/);
    expect(lineFor(result.stdout, 'action policy')).toMatch(/^✗ action policy — .*broken-actions\.yaml.*must be an Entra object id/);
    // The rest still works, and says so.
    for (const name of ['Defender app roles', 'ISOLATION_NSG_ID isolation-nsg', 'AbuseIPDB', 'Sentinel workspace']) expect(lineFor(result.stdout, name)).toMatch(/^✓ /);
    for (const s of [...secrets, wrongKey, entra.identityHeader]) expect(result.stdout + result.stderr).not.toContain(s);
    // It read the half-migrated database and left it as it was.
    const after = await createPgliteDb(unmigrated);
    expect((await after.query('SELECT version FROM schema_migrations')).rows).toEqual([{ version: 1 }]);
    await after.close();
  });

  it('lists every bad setting as its own ✗ and stops there', async () => {
    const result = await doctor({ ...production(), VIGIL_DATABASE_AUTH: 'entra', PAGERDUTY_ROUTING_KEY: '', VIGIL_WEBHOOK_SECRET: 'short', MicrosoftAppTenantId: '' });
    expect(result.code).toBe(1);
    const out = lines(result.stdout);
    expect(out.every((l) => l.startsWith('✗ settings — '))).toBe(true);
    expect(out.map((l) => l.split(' — ')[1]!.split(':')[0])).toEqual(expect.arrayContaining(['VIGIL_WEBHOOK_SECRET', 'MicrosoftAppTenantId', 'VIGIL_DATABASE_AUTH']));
    expect(sandboxes.virustotal.requests().length + sandboxes.graph.requests().length).toBe(0);
  });

  it('reports a client secret Entra ID refuses without printing it', async () => {
    const tls = await startEntra({ tls: true });
    try {
      tls.registerApp({ clientId: '5e1f0c2a-0000-4000-8000-00000000c5ec', objectId: '5e1f0c2a-0000-4000-8000-00000000c5eb', clientSecret: 'the-right-client-secret' });
      const wrongSecret = 'wrong-client-secret-7f3e9c1b';
      const env = production();
      delete env.IDENTITY_ENDPOINT;
      const result = await doctor({
        ...env,
        AZURE_USE_MANAGED_IDENTITY: 'false',
        AZURE_TENANT_ID: tls.tenantId,
        AZURE_CLIENT_ID: '5e1f0c2a-0000-4000-8000-00000000c5ec',
        AZURE_CLIENT_SECRET: wrongSecret,
        AZURE_AUTHORITY_HOST: tls.authorityHost!,
        NODE_EXTRA_CA_CERTS: tls.caFile!,
      });
      expect(result.code).toBe(1);
      expect(lineFor(result.stdout, 'Azure credential')).toMatch(
        /^✗ Azure credential — app 5e1f0c2a-0000-4000-8000-00000000c5ec \(client secret\) gets no token: .*AADSTS7000215.*check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET/,
      );
      expect(result.stdout + result.stderr).not.toContain(wrongSecret);
      expect(tls.requests('POST', '/:tenant/oauth2/v2.0/token').length).toBeGreaterThan(0);
    } finally {
      await tls.close();
    }
  });
});
