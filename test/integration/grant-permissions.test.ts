import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEntra, startTlsFront, type EntraStandIn } from '../../sandbox/entra';
import { SANDBOX_IDENTITY, startGraph } from '../../sandbox/graph';

const ROOT = path.resolve(__dirname, '../..');
const ADMIN = { clientId: '5e1f0c2a-0000-4000-8000-0000000ad001', objectId: '5e1f0c2a-0000-4000-8000-0000000ad0b1', clientSecret: 'sandbox-admin-secret-value' };
const GRAPH_APP = '00000003-0000-0000-c000-000000000000';
const DEFENDER_APP = 'fc780465-2017-40d4-a0c5-307022471b92';

/** Runs `npm run grant-permissions` as a deployer would: its own process, settings from the environment. */
const run = (args: string[], env: Record<string, string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      path.join(ROOT, 'node_modules/.bin/tsx'),
      [path.join(ROOT, 'scripts/grant-permissions.ts'), ...args],
      { cwd: os.tmpdir(), env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

describe('npm run grant-permissions against the sandbox tenant', () => {
  let entra: EntraStandIn;
  let graph: Awaited<ReturnType<typeof startGraph>>;
  // The Graph SDK sends tokens over https only, as Graph is: the stand-in sits behind an https front.
  let graphFront: Awaited<ReturnType<typeof startTlsFront>>;
  let dir: string;
  const env = (policy: string): Record<string, string> => {
    const file = path.join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(file, policy);
    return {
      GRAPH_ENDPOINT: graphFront.url,
      // Never called: only the roles the Defender features need are granted.
      MDE_ENDPOINT: 'http://127.0.0.1:9',
      VIGIL_ACTION_POLICY_FILE: file,
      AZURE_TENANT_ID: entra.tenantId,
      AZURE_CLIENT_ID: ADMIN.clientId,
      AZURE_CLIENT_SECRET: ADMIN.clientSecret,
      AZURE_AUTHORITY_HOST: entra.authorityHost!,
      NODE_EXTRA_CA_CERTS: entra.caFile!,
    };
  };
  const everything = fs.readFileSync(path.join(ROOT, 'test/fixtures/actions.yaml'), 'utf8');
  const blockIpOnly = 'kinds:\n  block-ip: { requesters: { users: ["a1b2c3d4-0000-4000-8000-000000000023"] }, approvals: 0 }\n';
  const grantedNames = () =>
    graph.requests('POST', '/v1.0/servicePrincipals/:id/appRoleAssignments').map((r) => {
      const b = r.body as { resourceId: string; appRoleId: string };
      const resource = graph.servicePrincipals.find((p) => p.id === b.resourceId)!;
      return `${resource.displayName}:${resource.appRoles.find((x) => x.id === b.appRoleId)!.value}`;
    });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-grant-'));
    entra = await startEntra({ tls: true });
    entra.registerApp({ ...ADMIN });
  });
  afterAll(async () => {
    await entra.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    // A fresh tenant each time, with two assignments a page so the listing has to follow nextLink.
    graph = await startGraph({ assignmentPageSize: 2 });
    graphFront = await startTlsFront(graph.port);
    entra.reset();
  });
  afterEach(async () => {
    await graphFront.close();
    await graph.close();
  });

  it('grants exactly the missing roles for the enabled features, as the administrator', async () => {
    const graphSp = graph.servicePrincipals.find((p) => p.appId === GRAPH_APP)!;
    // Held already: User.Read.All, and an unrelated role Vigil does not ask about.
    for (const value of ['User.Read.All', 'SecurityIncident.Read.All']) {
      graph.appRoleAssignments.push({
        id: `pre-${value}`,
        deletedDateTime: null,
        appRoleId: graphSp.appRoles.find((r) => r.value === value)!.id,
        createdDateTime: '2026-01-01T00:00:00Z',
        principalDisplayName: SANDBOX_IDENTITY.displayName,
        principalId: SANDBOX_IDENTITY.objectId,
        principalType: 'ServicePrincipal',
        resourceDisplayName: graphSp.displayName,
        resourceId: graphSp.id,
      });
    }
    const result = await run(['--principal-id', SANDBOX_IDENTITY.objectId, '--credential', 'env'], env(everything));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(grantedNames().sort()).toEqual([
      'Microsoft Graph:GroupMember.Read.All',
      'Microsoft Graph:IdentityRiskyUser.Read.All',
      'Microsoft Graph:RoleManagement.Read.Directory',
      'Microsoft Graph:User.EnableDisableAccount.All',
      'Microsoft Graph:User.RevokeSessions.All',
      'WindowsDefenderATP:Machine.Isolate',
      'WindowsDefenderATP:Machine.Read.All',
      'WindowsDefenderATP:Ti.ReadWrite',
    ]);
    for (const r of graph.requests('POST', '/v1.0/servicePrincipals/:id/appRoleAssignments')) {
      expect(r.path).toBe(`/v1.0/servicePrincipals/${SANDBOX_IDENTITY.objectId}/appRoleAssignments`);
      expect((r.body as { principalId: string }).principalId).toBe(SANDBOX_IDENTITY.objectId);
      // Signed in as the administrator, with a token Entra ID issued for Graph.
      const token = String(r.headers.authorization).replace(/^Bearer /, '');
      expect(entra.issued.find((t) => t.token === token)).toMatchObject({ clientId: ADMIN.clientId, audience: graphFront.url });
    }
    expect(result.stdout).toMatch(/✓ Microsoft Graph User\.Read\.All — already granted/);
    expect(result.stdout).toMatch(/\+ Microsoft Graph User\.EnableDisableAccount\.All — granted, for Disable user/);
    expect(result.stdout).not.toContain(ADMIN.clientSecret);
    expect(graph.rolesOf(SANDBOX_IDENTITY.objectId, GRAPH_APP)).toContain('User.RevokeSessions.All');
    expect(graph.rolesOf(SANDBOX_IDENTITY.objectId, DEFENDER_APP).sort()).toEqual(['Machine.Isolate', 'Machine.Read.All', 'Ti.ReadWrite']);

    const again = await run(['--principal-id', SANDBOX_IDENTITY.objectId, '--credential', 'env'], env(everything));
    expect(again.code).toBe(0);
    expect(grantedNames()).toHaveLength(8);
    expect(again.stdout).toMatch(/Nothing to grant/);
    // The second run read every page of the identity's assignments (ten, two a page).
    expect(graph.requests('GET', '/v1.0/servicePrincipals/:id/appRoleAssignments').length).toBeGreaterThanOrEqual(1 + 5);
  });

  it('grants only the read roles when the policy lets nobody disable, isolate or block hashes', async () => {
    const result = await run(['--principal-id', SANDBOX_IDENTITY.objectId, '--credential', 'env'], env(blockIpOnly));
    expect(result.code).toBe(0);
    expect(grantedNames().sort()).toEqual([
      'Microsoft Graph:IdentityRiskyUser.Read.All',
      'Microsoft Graph:RoleManagement.Read.Directory',
      'Microsoft Graph:User.Read.All',
      'WindowsDefenderATP:Machine.Read.All',
    ]);
  });

  it('prints the az rest commands on a dry run and writes nothing', async () => {
    const result = await run(['--principal-id', SANDBOX_IDENTITY.objectId, '--credential', 'env', '--dry-run'], env(blockIpOnly));
    expect(result.code).toBe(0);
    expect(graph.requests('POST')).toEqual([]);
    expect(graph.appRoleAssignments).toEqual([]);
    const commands = result.stdout.split('\n').filter((l) => l.trim().startsWith('az rest'));
    expect(commands).toHaveLength(4);
    const graphSp = graph.servicePrincipals.find((p) => p.appId === GRAPH_APP)!;
    expect(commands).toContainEqual(
      `    az rest --method POST --uri '${graphFront.url}/v1.0/servicePrincipals/${SANDBOX_IDENTITY.objectId}/appRoleAssignments' --headers 'Content-Type=application/json' --body '${JSON.stringify({ principalId: SANDBOX_IDENTITY.objectId, resourceId: graphSp.id, appRoleId: 'df021288-bdef-4463-88db-98f22de89214' })}'`,
    );
    expect(result.stdout).toMatch(/nothing was changed/);
  });

  it('refuses an object id that is not a service principal in the tenant, before writing anything', async () => {
    const result = await run(['--principal-id', '00000000-0000-4000-8000-000000000bad', '--credential', 'env'], env(everything));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no service principal with object id 00000000-0000-4000-8000-000000000bad/);
    expect(graph.requests('POST')).toEqual([]);
  });

  it('explains its arguments', async () => {
    const result = await run([], env(everything));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--principal-id <managed identity object id>/);
  });
});
