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
});
