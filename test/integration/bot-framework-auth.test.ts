import net from 'node:net';
import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { startBotFrameworkKeys, type BotFrameworkKeysStandIn } from '../../sandbox/bot-framework-keys';
import type { Db } from '../../src/store/db';
import { botInstalledInTeam, CHANNEL_ID } from '../helpers/teams-activities';
import { openTestDb, resetDb, startTestApp, TENANT_ID, type TestApp } from '../helpers/test-app';

const APP_ID = '608cacfd-1cea-40c9-b678-4b93e69bb72b';
const BUDGET_MS = 300;

/** A loopback port with nothing listening: the key endpoint is down. */
const closedPort = async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};

describe('/api/messages with Bot Framework authentication', () => {
  let connector: BotConnectorStandIn;
  let db: Db;
  let t: TestApp | undefined;

  beforeAll(async () => {
    connector = await startBotConnector();
    db = await openTestDb();
  });
  afterAll(async () => {
    await connector.close();
    await db.close();
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await resetDb(db);
  });

  /** Vigil with an app id (so tokens are checked), trusting the keys published at `metadataUrl`. */
  const start = (metadataUrl: string) =>
    startTestApp(
      {
        MicrosoftAppId: APP_ID,
        MicrosoftAppPassword: 'not-used-by-these-tests',
        MicrosoftAppType: 'SingleTenant',
        MicrosoftAppTenantId: TENANT_ID,
        HOST: '127.0.0.1',
        VIGIL_BOT_OPENID_METADATA_URL: metadataUrl,
      },
      { db, botAuthTimeoutMs: BUDGET_MS },
    );
  const send = async (bearer: string | undefined, activity = botInstalledInTeam(connector.url)) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
    const started = Date.now();
    const res = await fetch(`${t!.url}/api/messages`, { method: 'POST', headers, body: JSON.stringify(activity) });
    return { status: res.status, text: await res.text(), ms: Date.now() - started };
  };
  const conversations = async () => (await db.query<{ id: string }>('SELECT id FROM conversations')).rows.map((r) => r.id);

  /** Each case gets stand-ins of its own: the SDK caches keys per metadata URL for the whole process. */
  it('accepts a channel token signed with the published key', async () => {
    const keys = await startBotFrameworkKeys();
    try {
      t = await start(keys.metadataUrl);
      const res = await send(keys.channelToken({ aud: APP_ID, serviceurl: connector.url }));
      expect(res.status).toBeLessThan(300);
      expect(await conversations()).toContain(CHANNEL_ID);
    } finally {
      await keys.close();
    }
  });

  it.each([
    ['no token', () => undefined],
    ['a token signed with a key nobody published', (k: BotFrameworkKeysStandIn) => k.channelToken({ aud: APP_ID, serviceurl: connector.url }, { signWith: 'foreign' })],
    ['a token for another bot', (k: BotFrameworkKeysStandIn) => k.channelToken({ aud: '11111111-2222-4333-8444-555555555555', serviceurl: connector.url })],
    ['a token for another service URL', (k: BotFrameworkKeysStandIn) => k.channelToken({ aud: APP_ID, serviceurl: 'https://smba.attacker.example' })],
    ['garbage', () => 'not.a.jwt'],
  ])('refuses %s with 401, no internal detail, nothing stored', async (_name, token) => {
    const keys = await startBotFrameworkKeys();
    try {
      t = await start(keys.metadataUrl);
      const res = await send(token(keys));
      expect(res.status).toBe(401);
      expect(JSON.parse(res.text)).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
      expect(res.text).not.toMatch(/well-known|127\.0\.0\.1|Signing Key|endorsement|stack/i);
      expect(await conversations()).toEqual([]);
    } finally {
      await keys.close();
    }
  });

  it('answers 503 without detail when the key endpoint is down', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/v1/.well-known/openidconfiguration`;
    t = await start(url);
    const res = await send('eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJpc3MiOiJodHRwczovL2FwaS5ib3RmcmFtZXdvcmsuY29tIn0.c2ln');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toEqual({ error: { code: 'UNAVAILABLE', message: expect.any(String) } });
    expect(res.text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|well-known|fetch/i);
    expect(await conversations()).toEqual([]);
  });

  it('answers 503 within its budget when the key endpoint hangs', async () => {
    const keys = await startBotFrameworkKeys();
    keys.set({ hang: true });
    try {
      t = await start(keys.metadataUrl);
      const forged = keys.channelToken({ aud: APP_ID, serviceurl: connector.url }, { signWith: 'foreign' });
      const answers = await Promise.all([send(forged), send(forged), send(forged)]);
      for (const res of answers) {
        expect(res.status).toBe(503);
        expect(res.ms).toBeLessThan(BUDGET_MS * 10);
      }
      expect(await conversations()).toEqual([]);
    } finally {
      await keys.close();
    }
  });
});
