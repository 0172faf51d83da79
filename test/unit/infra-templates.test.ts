import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createArmChecker, SCHEMA_PATCHES } from '../helpers/arm-template-check';

/**
 * The ARM templates under infra/ against Azure's published schemas (test/fixtures/arm-schemas,
 * see its SOURCES.md): every resource, nested deployments' too, with unknown properties refused;
 * every parameters()/variables() reference resolved and every declaration used; the README's
 * tables naming exactly each template's parameters and outputs; and what the deployment promises
 * (settings Vigil reads, rights only for enabled actions, no database password).
 */

type Json = { [key: string]: any };

const ROOT = resolve(__dirname, '../..');
const SCHEMAS = join(ROOT, 'test/fixtures/arm-schemas');
const README = readFileSync(join(ROOT, 'infra/README.md'), 'utf8');

const jsonFilesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? jsonFilesUnder(path) : /^azuredeploy.*\.json$/.test(name) ? [path] : [];
  });

const files = jsonFilesUnder(join(ROOT, 'infra')).map((path) => ({ path: relative(ROOT, path), json: JSON.parse(readFileSync(path, 'utf8')) as Json }));
const templates = files.filter((f) => String(f.json.$schema).includes('/deploymentTemplate.json'));
const parameterFiles = files.filter((f) => String(f.json.$schema).includes('/deploymentParameters.json'));
const template = (path: string) => structuredClone(templates.find((t) => t.path === path)!.json);

const checker = createArmChecker(SCHEMAS);

/** The backticked names in the first column of the table under the README heading that says `title`. */
const readmeTable = (title: string): string[] | undefined => {
  const lines = README.split('\n');
  const at = lines.findIndex((l) => /^#{2,4} /.test(l) && l.includes(title));
  if (at < 0) return undefined;
  const names: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (/^#{1,4} /.test(line)) break;
    const cell = /^\|\s*`([^`]+)`\s*\|/.exec(line);
    if (cell) names.push(cell[1]!);
  }
  return names;
};

const mainTemplate = () => template('infra/azuredeploy.json');
const sentinelTemplate = () => template('infra/sentinel/azuredeploy.json');
const resourceOfType = (t: Json, type: string) => (t.resources as Json[]).find((r) => r.type === type)!;

describe('infra templates', () => {
  it('finds both templates and their example parameters', () => {
    expect(templates.map((t) => t.path).sort()).toEqual(['infra/azuredeploy.json', 'infra/sentinel/azuredeploy.json']);
    expect(parameterFiles.map((t) => t.path).sort()).toEqual(['infra/azuredeploy.parameters.example.json', 'infra/sentinel/azuredeploy.parameters.example.json']);
  });

  describe.each(templates.map((t) => t.path))('%s', (path) => {
    it('validates: envelope, every resource against its published schema, every reference', () => {
      expect(checker.checkTemplate(template(path), path)).toEqual([]);
    });

    it('has its parameters and outputs in the README, all of them and no others', () => {
      const t = template(path);
      expect(readmeTable(`Parameters of \`${path}\``)?.sort()).toEqual(Object.keys(t.parameters ?? {}).sort());
      expect(readmeTable(`Outputs of \`${path}\``)?.sort()).toEqual(Object.keys(t.outputs ?? {}).sort());
    });
  });

  it('has every output the README reads with --query in some template', () => {
    const outputs = new Set(templates.flatMap((t) => Object.keys(t.json.outputs ?? {})));
    const read = [...README.matchAll(/properties\.outputs\.([A-Za-z0-9_]+)\.value/g), ...README.matchAll(/\$\(out ([A-Za-z0-9_]+)\)/g)].map((m) => m[1]!);
    expect(read.length).toBeGreaterThan(5);
    expect(read.filter((name) => !outputs.has(name))).toEqual([]);
  });

  it.each(parameterFiles.map((f) => f.path))('%s fits its template', (path) => {
    const params = parameterFiles.find((f) => f.path === path)!.json;
    expect(checker.checkParametersFile(params, template(path.replace('.parameters.example.json', '.json')))).toEqual([]);
  });

  it('gives the outputs the deployment steps need', () => {
    expect(Object.keys(mainTemplate().outputs)).toEqual(
      expect.arrayContaining(['botAppId', 'identityPrincipalId', 'identityClientId', 'webAppUrl', 'messagingEndpoint', 'webhookUrl', 'webhookAudience', 'keyVaultName', 'postgresHost']),
    );
    expect(mainTemplate().outputs.webhookUrl.value).toMatch(/\/api\/incidents'/);
    expect(mainTemplate().outputs.messagingEndpoint.value).toMatch(/\/api\/messages'/);
    expect(Object.keys(sentinelTemplate().outputs)).toContain('playbookPrincipalId');
  });
});

describe('the template check', () => {
  it('fails on a misspelt property, naming it', () => {
    const t = mainTemplate();
    const bot = resourceOfType(t, 'Microsoft.BotService/botServices');
    bot.properties.msaApType = bot.properties.msaAppType;
    delete bot.properties.msaAppType;
    const site = resourceOfType(t, 'Microsoft.Web/sites');
    site.properties.siteConfig.linuxFxVersio = site.properties.siteConfig.linuxFxVersion;
    delete site.properties.siteConfig.linuxFxVersion;

    const problems = checker.checkTemplate(t, 'infra/azuredeploy.json');
    expect(problems).toEqual([
      expect.stringMatching(/Microsoft\.Web\/sites .*unknown property properties\.siteConfig\.linuxFxVersio$/),
      expect.stringMatching(/Microsoft\.BotService\/botServices .*unknown property properties\.msaApType$/),
    ]);
  });

  it('fails on a misspelt property inside a nested deployment, an allOf variant, and the envelope', () => {
    const t = mainTemplate();
    const admin = resourceOfType(t, 'Microsoft.Resources/deployments').properties.template.resources[0];
    admin.properties.principalTyp = admin.properties.principalType;
    delete admin.properties.principalType;
    resourceOfType(t, 'Microsoft.BotService/botServices/channels').properties.properties.isEnabeld = true;
    t.parameters.namePrefix.defaultVaule = 'x';
    expect(checker.checkTemplate(t, 'main').join('\n')).toEqual(expect.stringContaining('unknown property parameters.namePrefix.defaultVaule'));
    const problems = checker.checkTemplate(t, 'main').join('\n');
    expect(problems).toContain('unknown property properties.principalTyp');
    expect(problems).toContain('unknown property properties.properties.isEnabeld');

    const s = sentinelTemplate();
    const rule = resourceOfType(s, 'Microsoft.Resources/deployments').properties.template.resources[0];
    rule.properties.actions[0].actionConfiguraton = rule.properties.actions[0].actionConfiguration;
    delete rule.properties.actions[0].actionConfiguration;
    expect(checker.checkTemplate(s, 'sentinel')).toEqual([expect.stringContaining('unknown property properties.actions[0].actionConfiguraton')]);
  });

  it('fails on a wrong value, a type or API version without a published schema, and broken references', () => {
    const t = mainTemplate();
    resourceOfType(t, 'Microsoft.Web/sites').properties.siteConfig.minTlsVersion = '1.5';
    resourceOfType(t, 'Microsoft.KeyVault/vaults').apiVersion = '2023-07-01';
    t.resources.push({ type: 'Microsoft.App/containerApps', apiVersion: '2025-01-01', name: 'x', location: 'x', properties: {} });
    t.outputs.extra = { type: 'string', value: "[variables('nope')]" };
    t.parameters.unused = { type: 'string', defaultValue: '' };
    const problems = checker.checkTemplate(t, 'main');
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/properties\.siteConfig\.minTlsVersion must be equal to one of the allowed values \(1\.0, 1\.1, 1\.2, 1\.3\)/),
        expect.stringMatching(/Microsoft\.KeyVault\/vaults .*no published schema for Microsoft\.KeyVault\/vaults at API version 2023-07-01/),
        expect.stringMatching(/no published schema for Microsoft\.App\/containerApps at API version 2025-01-01/),
        "main: variables('nope') is not declared",
        "main: parameter 'unused' is declared but never used",
      ]),
    );
  });

  it('checks what a nested deployment passes against what its template declares', () => {
    const t = mainTemplate();
    const nested = resourceOfType(t, 'Microsoft.Resources/deployments');
    nested.properties.parameters.principalNam = nested.properties.parameters.principalName;
    delete nested.properties.parameters.principalName;
    expect(checker.checkTemplate(t, 'main')).toEqual([
      expect.stringMatching(/passes parameter 'principalNam', which its template does not declare$/),
      expect.stringMatching(/does not pass 'principalName', which its template requires$/),
    ]);
  });

  it('patches only gaps the published schemas still have', () => {
    expect(checker.patchesApplied).toHaveLength(SCHEMA_PATCHES.length);
  });

  const shared = resolve(ROOT, '../shared/contracts/arm-templates');
  (existsSync(shared) ? it : it.skip)("holds the shared contracts' schemas unchanged", () => {
    const copied = readdirSync(shared).filter((n) => n.endsWith('.json'));
    expect(copied.length).toBeGreaterThan(10);
    for (const name of copied) expect([name, readFileSync(join(SCHEMAS, name)).equals(readFileSync(join(shared, name)))]).toEqual([name, true]);
  });
});

describe('the Vigil deployment', () => {
  const settingsOf = (t: Json): Record<string, string> => Object.fromEntries((resourceOfType(t, 'Microsoft.Web/sites').properties.siteConfig.appSettings as Json[]).map((s) => [s.name, s.value]));

  /** The settings src/config.ts reads: the keys of its envSchema. */
  const settingsVigilReads = (): Set<string> => {
    const source = readFileSync(join(ROOT, 'src/config.ts'), 'utf8');
    const body = /const envSchema = z\.object\(\{([\s\S]*?)\n\}\);/.exec(source)![1]!;
    return new Set([...body.matchAll(/^ {2}([A-Za-z_][A-Za-z0-9_]*):/gm)].map((m) => m[1]!));
  };
  /** Settings for App Service itself, and the one the Entra PostgreSQL sign-in reads (issue 9). */
  const PLATFORM_SETTINGS = ['SCM_DO_BUILD_DURING_DEPLOYMENT', 'APPLICATIONINSIGHTS_CONNECTION_STRING', 'ApplicationInsightsAgent_EXTENSION_VERSION', 'VIGIL_DATABASE_AUTH'];

  it('sets only settings Vigil (or App Service) reads, by their exact names', () => {
    const reads = settingsVigilReads();
    expect(reads.size).toBeGreaterThan(40);
    expect(Object.keys(settingsOf(mainTemplate())).filter((name) => !reads.has(name) && !PLATFORM_SETTINGS.includes(name))).toEqual([]);
  });

  it('runs the bot as the user-assigned identity, with no secret', () => {
    const t = mainTemplate();
    const s = settingsOf(t);
    expect(s).toMatchObject({ MicrosoftAppType: 'UserAssignedMSI', AZURE_USE_MANAGED_IDENTITY: 'true', VIGIL_DATABASE_AUTH: 'entra' });
    expect(s.MicrosoftAppId).toBe(t.outputs.identityClientId.value);
    expect(s.AZURE_CLIENT_ID).toBe(t.outputs.identityClientId.value);
    expect(s).not.toHaveProperty('MicrosoftAppPassword');
    expect(s).not.toHaveProperty('AZURE_CLIENT_SECRET');
    const bot = resourceOfType(t, 'Microsoft.BotService/botServices');
    expect(bot.kind).toBe('azurebot');
    expect(bot.properties).toMatchObject({ msaAppType: 'UserAssignedMSI', msaAppMSIResourceId: "[variables('identityId')]", msaAppTenantId: '[subscription().tenantId]' });
    expect(bot.properties.msaAppId).toBe(t.outputs.identityClientId.value);
    expect(bot.properties.endpoint).toMatch(/^\[format\('https:\/\/\{0\}\/api\/messages'/);
    expect(resourceOfType(t, 'Microsoft.BotService/botServices/channels').properties).toMatchObject({ channelName: 'MsTeamsChannel', properties: { isEnabled: true } });
  });

  it('serves the production build on Node 24 over HTTPS only', () => {
    const site = resourceOfType(mainTemplate(), 'Microsoft.Web/sites');
    expect(site.identity).toEqual({ type: 'UserAssigned', userAssignedIdentities: { "[variables('identityId')]": {} } });
    expect(site.properties).toMatchObject({ httpsOnly: true, keyVaultReferenceIdentity: "[variables('identityId')]" });
    expect(site.properties.siteConfig).toMatchObject({
      linuxFxVersion: 'NODE|24-lts',
      appCommandLine: 'npm start',
      minTlsVersion: '1.2',
      scmMinTlsVersion: '1.2',
      ftpsState: 'Disabled',
      healthCheckPath: '/readyz',
    });
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Json;
    expect(pkg.scripts.start).toMatch(/^node (--[\w-]+ )*dist\/src\/index\.js$/);
    expect(settingsOf(mainTemplate()).SCM_DO_BUILD_DURING_DEPLOYMENT).toBe('false');
  });

  it('reaches PostgreSQL with Entra ID only: no password anywhere', () => {
    const t = mainTemplate();
    const server = resourceOfType(t, 'Microsoft.DBforPostgreSQL/flexibleServers');
    expect(server.properties.authConfig).toMatchObject({ activeDirectoryAuth: 'Enabled', passwordAuth: 'Disabled' });
    expect(server.properties).not.toHaveProperty('administratorLoginPassword');
    const admin = resourceOfType(t, 'Microsoft.Resources/deployments').properties.template.resources[0];
    expect(admin.type).toBe('Microsoft.DBforPostgreSQL/flexibleServers/administrators');
    expect(admin.properties.principalType).toBe('ServicePrincipal');
    expect(settingsOf(t).DATABASE_URL).toMatch(/^\[format\('postgres:\/\/\{0\}@\{1\}:5432\/\{2\}\?sslmode=require', variables\('identityName'\)/);
    expect(t.variables.databaseName).toBe('vigil');
  });

  it('keeps the third-party keys in Key Vault, created only when given and referenced from the settings', () => {
    const t = mainTemplate();
    expect(resourceOfType(t, 'Microsoft.KeyVault/vaults').properties).toMatchObject({ enableRbacAuthorization: true, enableSoftDelete: true, enablePurgeProtection: true });
    const secrets = (t.resources as Json[]).filter((r) => r.type === 'Microsoft.KeyVault/vaults/secrets');
    expect(secrets.map((s) => s.condition).sort()).toEqual([
      "[not(empty(parameters('abuseIpDbApiKey')))]",
      "[not(empty(parameters('pagerDutyRoutingKey')))]",
      "[not(empty(parameters('virusTotalApiKey')))]",
    ]);
    for (const key of ['virusTotalApiKey', 'abuseIpDbApiKey', 'pagerDutyRoutingKey']) expect(t.parameters[key]).toMatchObject({ type: 'securestring', defaultValue: '' });
    const s = settingsOf(t);
    for (const name of ['VIRUSTOTAL_API_KEY', 'ABUSEIPDB_API_KEY', 'PAGERDUTY_ROUTING_KEY']) expect(s[name]).toContain('@Microsoft.KeyVault(SecretUri=');
  });

  /** Every role assignment with the role it grants and the parameters that decide whether it exists. */
  const roleAssignments = (t: Json) => {
    const found: Array<{ role: string; gates: string[]; scope?: string }> = [];
    const walk = (tpl: Json, outer: { tpl: Json; deployment: Json; gates: string[] } | undefined, gates: string[]) => {
      const value = (expr: unknown, at: { tpl: Json; outer?: typeof outer }): string => {
        let s = String(expr);
        for (const m of s.matchAll(/variables\('(\w+)'\)(?:\.(\w+))?/g)) {
          const v = at.tpl.variables?.[m[1]!];
          s += ` ${value(m[2] ? v?.[m[2]] : typeof v === 'string' ? v : JSON.stringify(v), at)}`;
        }
        if (at.outer) for (const m of s.matchAll(/parameters\('(\w+)'\)/g)) s += ` ${value(at.outer.deployment.properties.parameters[m[1]!]?.value, { tpl: at.outer.tpl })}`;
        return s;
      };
      for (const r of tpl.resources as Json[]) {
        const own = [r.condition, r.copy?.count].filter((g) => g !== undefined).map((g) => value(g, { tpl, outer }));
        if (r.type === 'Microsoft.Authorization/roleAssignments') {
          const role = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(value(r.properties.roleDefinitionId, { tpl, outer }))?.[0] ?? '?';
          const flags = [...gates, ...own].flatMap((g) => [...g.matchAll(/parameters\('(enable\w+)'\)/g)].map((m) => m[1]!));
          found.push({ role, gates: [...new Set(flags)].sort(), scope: r.scope === undefined ? undefined : value(r.scope, { tpl, outer }) });
        }
        if (r.type === 'Microsoft.Resources/deployments') walk(r.properties.template, { tpl, deployment: r, gates: [...gates, ...own] }, [...gates, ...own]);
      }
    };
    walk(t, undefined, []);
    return found;
  };

  it('grants each enabled action its rights, and no others', () => {
    const roles = {
      responder: '3e150937-b8fe-4cfb-8069-0eaf05ecd056',
      sentinelContributor: 'ab8e14d6-4a74-4a29-9ba8-549422addade',
      network: '4d97b98b-1d4f-4787-a291-c67834d212e7',
      reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
      secrets: '4633458b-17de-408a-b874-0445c86b69e6',
    };
    const grants = roleAssignments(mainTemplate()).map(({ role, gates }) => `${Object.entries(roles).find(([, id]) => id === role)?.[0] ?? role} ${gates.join('+') || 'always'}`);
    expect(grants.sort()).toEqual(
      ['secrets always', 'responder always', 'sentinelContributor enableThreatIntel', 'network enableBlockIp', 'network enableIsolateVm', 'reader enableIsolateVm', 'network enableIsolateVm'].sort(),
    );
    const scopes = roleAssignments(mainTemplate()).map((a) => a.scope);
    expect(scopes.filter((s) => s?.includes('Microsoft.Network/networkSecurityGroups/'))).toHaveLength(2);
    expect(scopes.filter((s) => s?.includes('Microsoft.OperationalInsights/workspaces/'))).toHaveLength(2);
  });
});

describe('the Sentinel playbook', () => {
  it('posts the incident trigger body to Vigil with its managed identity, and retries', () => {
    const t = sentinelTemplate();
    const workflow = resourceOfType(t, 'Microsoft.Logic/workflows');
    expect(workflow.identity).toEqual({ type: 'SystemAssigned' });
    const { triggers, actions } = workflow.properties.definition;
    expect(Object.values(triggers)).toEqual([expect.objectContaining({ type: 'ApiConnectionWebhook', inputs: expect.objectContaining({ path: '/incident-creation' }) })]);
    expect(Object.values(actions)).toHaveLength(1);
    const [post] = Object.values(actions) as Json[];
    expect(post).toMatchObject({
      type: 'Http',
      inputs: { method: 'POST', body: '@triggerBody()', authentication: { type: 'ManagedServiceIdentity', audience: "@parameters('vigilAudience')" }, retryPolicy: { type: 'exponential' } },
    });
    expect(workflow.properties.parameters.vigilAudience.value).toBe("[parameters('VigilAudience')]");
    expect(workflow.properties.parameters.$connections.value.azuresentinel.connectionProperties.authentication.type).toBe('ManagedServiceIdentity');
    expect(resourceOfType(t, 'Microsoft.Web/connections').properties.parameterValueType).toBe('Alternative');
  });

  it('is run by automation rules on incidents created and updated', () => {
    const nested = resourceOfType(sentinelTemplate(), 'Microsoft.Resources/deployments').properties.template;
    const rules = nested.resources as Json[];
    expect(rules.map((r) => [r.type, r.properties.triggeringLogic.triggersOn, r.properties.triggeringLogic.triggersWhen])).toEqual([
      ['Microsoft.SecurityInsights/automationRules', 'Incidents', 'Created'],
      ['Microsoft.SecurityInsights/automationRules', 'Incidents', 'Updated'],
    ]);
    for (const r of rules) {
      expect(r.scope).toBe("[variables('workspaceScope')]");
      expect(nested.variables.workspaceScope).toBe("[format('Microsoft.OperationalInsights/workspaces/{0}', parameters('workspaceName'))]");
      expect(r.properties.actions).toEqual([{ order: 1, actionType: 'RunPlaybook', actionConfiguration: { logicAppResourceId: "[parameters('playbookId')]", tenantId: '[subscription().tenantId]' } }]);
    }
  });

  it('has the metadata of a Sentinel solution playbook', () => {
    const t = sentinelTemplate();
    expect(Object.keys(t.metadata)).toEqual(expect.arrayContaining(['title', 'description', 'prerequisites', 'postDeployment', 'support', 'author']));
    expect(t.parameters.PlaybookName.type).toBe('string');
  });
});
