import { loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('runs in local mode with no settings at all', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ localMode: true, host: '127.0.0.1', port: 3978, database: { kind: 'pglite', dataDir: './data' }, sentinel: { armEndpoint: 'https://management.azure.com' } });
  });

  it('uses PostgreSQL when DATABASE_URL is set, and trims base URLs', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://u@db/vigil', ARM_ENDPOINT: 'http://127.0.0.1:9999/' });
    expect(c.database).toEqual({ kind: 'pg', url: 'postgres://u@db/vigil' });
    expect(c.sentinel.armEndpoint).toBe('http://127.0.0.1:9999');
  });

  it('refuses to listen beyond loopback without Bot Framework authentication', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/HOST: without MicrosoftAppId .* only binds to loopback/);
  });

  it('lists every bad setting in one error', () => {
    let message = '';
    try {
      loadConfig({ PORT: 'eighty', MicrosoftAppId: 'not-a-guid', DATABASE_URL: 'mysql://x', ARM_ENDPOINT: 'ftp://x' });
    } catch (e) {
      message = (e as Error).message;
    }
    for (const name of ['PORT', 'MicrosoftAppId', 'DATABASE_URL', 'ARM_ENDPOINT']) expect(message).toContain(`${name}:`);
  });

  it('needs a password, a tenant for single-tenant bots, and a real webhook secret outside local mode', () => {
    expect(() => loadConfig({ MicrosoftAppId: '608cacfd-1cea-40c9-b678-4b93e69bb72b', MicrosoftAppType: 'SingleTenant', VIGIL_WEBHOOK_SECRET: 'short' })).toThrow(
      /MicrosoftAppPassword[\s\S]*MicrosoftAppTenantId[\s\S]*VIGIL_WEBHOOK_SECRET/,
    );
    const c = loadConfig({ MicrosoftAppId: '608cacfd-1cea-40c9-b678-4b93e69bb72b', MicrosoftAppPassword: 'p', VIGIL_WEBHOOK_SECRET: 'a-long-enough-secret' });
    expect(c).toMatchObject({ localMode: false, host: '0.0.0.0', webhookSecret: 'a-long-enough-secret' });
  });

  describe('Entra ID tokens on the webhook', () => {
    const bot = { MicrosoftAppId: '608cacfd-1cea-40c9-b678-4b93e69bb72b', MicrosoftAppPassword: 'p' };
    const tenant = 'b28fdbfd-2b78-4f93-b0f8-8881793f0f8f';
    const caller = '3c9a1f0e-7d2b-4c55-9e1a-0000000000a1';

    it('is off unless VIGIL_WEBHOOK_AUDIENCE is set', () => {
      expect(loadConfig({}).webhookEntra).toBeUndefined();
      expect(loadConfig({}).webhookSecret).toBe('local-dev-secret');
    });

    it('takes the audiences, callers, tenant and the public-cloud authority', () => {
      const c = loadConfig({
        ...bot,
        VIGIL_WEBHOOK_AUDIENCE: 'api://vigil, 608cacfd-1cea-40c9-b678-4b93e69bb72b',
        VIGIL_WEBHOOK_ALLOWED_CALLERS: ` ${caller.toUpperCase()} ,${caller.replace(/1$/, '2')}`,
        VIGIL_WEBHOOK_TENANT_ID: tenant,
      });
      expect(c.webhookEntra).toEqual({
        tenantId: tenant,
        audiences: ['api://vigil', '608cacfd-1cea-40c9-b678-4b93e69bb72b'],
        allowedCallers: [caller, caller.replace(/1$/, '2')],
        authority: 'https://login.microsoftonline.com',
      });
      // Tokens alone are enough outside local mode: no shared secret is required, or invented.
      expect(c.webhookSecret).toBeUndefined();
    });

    it('falls back to MicrosoftAppTenantId and takes a stand-in authority', () => {
      const c = loadConfig({
        ...bot,
        MicrosoftAppTenantId: tenant,
        VIGIL_WEBHOOK_AUDIENCE: 'api://vigil',
        VIGIL_WEBHOOK_ALLOWED_CALLERS: caller,
        VIGIL_WEBHOOK_AUTHORITY: 'http://127.0.0.1:4010/',
        VIGIL_WEBHOOK_SECRET: 'a-long-enough-secret',
      });
      expect(c.webhookEntra).toMatchObject({ tenantId: tenant, authority: 'http://127.0.0.1:4010' });
      expect(c.webhookSecret).toBe('a-long-enough-secret');
    });

    it('will not take a token without a caller allow-list and a tenant', () => {
      expect(() => loadConfig({ ...bot, VIGIL_WEBHOOK_AUDIENCE: 'api://vigil' })).toThrow(
        /VIGIL_WEBHOOK_ALLOWED_CALLERS: required with VIGIL_WEBHOOK_AUDIENCE[\s\S]*VIGIL_WEBHOOK_TENANT_ID: required/,
      );
      expect(() => loadConfig({ VIGIL_WEBHOOK_ALLOWED_CALLERS: caller })).toThrow(/VIGIL_WEBHOOK_AUDIENCE: needed with VIGIL_WEBHOOK_ALLOWED_CALLERS/);
    });

    it('names bad values', () => {
      let message = '';
      try {
        loadConfig({ VIGIL_WEBHOOK_ALLOWED_CALLERS: 'playbook-1', VIGIL_WEBHOOK_TENANT_ID: 'contoso', VIGIL_WEBHOOK_AUTHORITY: 'login.microsoftonline.com' });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/VIGIL_WEBHOOK_ALLOWED_CALLERS: must be a comma-separated list of managed identity object ids/);
      expect(message).toMatch(/VIGIL_WEBHOOK_TENANT_ID: must be a tenant id/);
      expect(message).toMatch(/VIGIL_WEBHOOK_AUTHORITY: must be an http\(s\) URL/);
    });

    it('needs the secret or the audience outside local mode', () => {
      expect(() => loadConfig(bot)).toThrow(/VIGIL_WEBHOOK_SECRET or VIGIL_WEBHOOK_AUDIENCE: outside local mode/);
      // A short secret is refused even when tokens are configured too.
      expect(() => loadConfig({ ...bot, VIGIL_WEBHOOK_SECRET: 'short', VIGIL_WEBHOOK_AUDIENCE: 'api://vigil', VIGIL_WEBHOOK_ALLOWED_CALLERS: caller, VIGIL_WEBHOOK_TENANT_ID: tenant })).toThrow(
        /VIGIL_WEBHOOK_SECRET: at least 16 characters/,
      );
    });
  });
});

describe('storm digest settings', () => {
  it('fold above 10 waiting cards, 40 lines a digest, 5 quiet minutes by default; 0 turns folding off', () => {
    expect(loadConfig({}).digest).toEqual({ foldAbove: 10, maxLines: 40, quietMs: 300_000 });
    expect(loadConfig({ VIGIL_DIGEST_THRESHOLD: '25', VIGIL_DIGEST_MAX_LINES: '20', VIGIL_DIGEST_QUIET_SECONDS: '60' }).digest).toEqual({ foldAbove: 25, maxLines: 20, quietMs: 60_000 });
    expect(loadConfig({ VIGIL_DIGEST_THRESHOLD: '0' }).digest).toBeUndefined();
    // More lines than a Teams message can carry is refused.
    expect(() => loadConfig({ VIGIL_DIGEST_MAX_LINES: '200' })).toThrow(/VIGIL_DIGEST_MAX_LINES/);
  });
});

describe('isolation NSGs', () => {
  const nsg = (name: string) => `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/prod-rg/providers/Microsoft.Network/networkSecurityGroups/${name}`;
  const actions = { VIGIL_ACTION_POLICY_FILE: './actions.yaml' };

  it('takes one NSG id, as before, or a comma-separated list of them (one per region)', () => {
    expect(loadConfig({ ...actions, ISOLATION_NSG_ID: nsg('isolation-weu') }).actions?.isolationNsgIds).toEqual([nsg('isolation-weu')]);
    expect(loadConfig({ ...actions, ISOLATION_NSG_ID: ` ${nsg('isolation-weu')} , ${nsg('isolation-eus')},` }).actions?.isolationNsgIds).toEqual([nsg('isolation-weu'), nsg('isolation-eus')]);
    expect(loadConfig({ ...actions, ISOLATION_NSG_ID: '' }).actions?.isolationNsgIds).toBeUndefined();
  });

  it('names the entry of the list that is not an NSG id', () => {
    expect(() => loadConfig({ ...actions, ISOLATION_NSG_ID: `${nsg('isolation-weu')},isolation-eus` })).toThrow(
      /ISOLATION_NSG_ID: must be the ARM id of a network security group .* one per region; not an NSG id: isolation-eus$/m,
    );
  });

  it('needs the action policy, with one NSG or several', () => {
    expect(() => loadConfig({ ISOLATION_NSG_ID: `${nsg('isolation-weu')},${nsg('isolation-eus')}` })).toThrow(/VIGIL_ACTION_POLICY_FILE: BLOCK_NSG_ID and ISOLATION_NSG_ID need the action policy/);
  });
});
