import { SANDBOX_PLAYBOOK_OID, startEntra, type EntraStandIn } from '../../sandbox/entra';
import { demoIncident } from '../helpers/fixtures';
import { openTestDb, resetDb, startTestApp, WEBHOOK_SECRET, type TestApp } from '../helpers/test-app';
import type { Db } from '../../src/store/db';

const AUDIENCE = 'api://vigil-webhook';
const OTHER_TENANT = '0e3c1c55-8a43-4f5e-9d0a-7f1f6a2b9c01';
const KEYS = '/:tenant/discovery/v2.0/keys';

describe('POST /api/incidents with a playbook managed identity token', () => {
  let entra: EntraStandIn;
  let db: Db;
  let t: TestApp;

  const start = (env: Record<string, string> = {}) =>
    startTestApp(
      {
        VIGIL_WEBHOOK_AUDIENCE: AUDIENCE,
        VIGIL_WEBHOOK_ALLOWED_CALLERS: SANDBOX_PLAYBOOK_OID,
        VIGIL_WEBHOOK_TENANT_ID: entra.tenantId,
        VIGIL_WEBHOOK_AUTHORITY: entra.authority,
        ...env,
      },
      { db },
    );
  const post = (bearer: string | null) => t.postIncident(demoIncident('brute-force-admin'), { secret: bearer });
  const stored = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM incidents')).rows[0]!.n;
  const playbookToken = (claims: Record<string, unknown> = {}, options?: Parameters<EntraStandIn['token']>[1]) => entra.token({ aud: AUDIENCE, oid: SANDBOX_PLAYBOOK_OID, ...claims }, options);

  beforeAll(async () => {
    entra = await startEntra();
    db = await openTestDb();
  });
  afterAll(async () => {
    await entra.close();
    await db.close();
  });
  beforeEach(async () => {
    entra.reset();
    await resetDb(db);
    t = await start();
  });
  afterEach(async () => {
    await t.close();
  });

  it('stores the incident and answers 202 for a v2 token from an allowed playbook', async () => {
    const res = await post(playbookToken());
    expect(res).toEqual({ status: 202, body: { outcome: 'created', incident: expect.objectContaining({ number: 1041 }) } });
    expect(await stored()).toBe(1);
    expect(entra.requests('GET', KEYS)[0]!.path).toBe(`/${entra.tenantId}/discovery/v2.0/keys`);
  });

  it('accepts a v1 token (sts.windows.net issuer), what a managed identity gets by default', async () => {
    const res = await post(playbookToken({ iss: `https://sts.windows.net/${entra.tenantId}/`, ver: '1.0' }));
    expect(res.status).toBe(202);
    expect(await stored()).toBe(1);
  });

  it('still accepts the shared secret alongside', async () => {
    expect((await post(WEBHOOK_SECRET)).status).toBe(202);
    expect(await stored()).toBe(1);
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each<[string, () => string, RegExp]>([
    ['a token for another audience', () => playbookToken({ aud: 'api://someone-else' }), /another audience.*VIGIL_WEBHOOK_AUDIENCE/],
    ['a token from another issuer', () => playbookToken({ iss: 'https://login.example.com/evil/v2.0' }), /not issued by Vigil's tenant/],
    ['a token from another tenant', () => playbookToken({ iss: `https://sts.windows.net/${OTHER_TENANT}/`, tid: OTHER_TENANT }), /not issued by Vigil's tenant/],
    ['a token whose tid is another tenant', () => playbookToken({ tid: OTHER_TENANT }), /another tenant/],
    ['an expired token', () => playbookToken({ iat: now() - 7200, nbf: now() - 7200, exp: now() - 600 }), /expired/],
    ['a token not valid yet', () => playbookToken({ nbf: now() + 600 }), /not valid yet/],
    ['a token without an expiry', () => playbookToken({ exp: undefined }), /no expiry/],
    [
      'a token from an identity not on the allow-list',
      () => playbookToken({ oid: '9d1e2f3a-0000-4000-8000-0000000000ff' }),
      /caller 9d1e2f3a-0000-4000-8000-0000000000ff is not in VIGIL_WEBHOOK_ALLOWED_CALLERS/,
    ],
    ['a token signed by another key under the tenant key id', () => playbookToken({}, { signWith: 'foreign' }), /signature does not verify/],
    ['a token signed by a key the tenant does not publish', () => playbookToken({}, { signWith: 'foreign', kid: 'not-a-tenant-key' }), /key the tenant does not publish/],
    ['an unsigned token (alg none)', () => playbookToken({}, { alg: 'none' }), /RS256/],
    ['an HS256 token keyed with the public key', () => playbookToken({}, { alg: 'HS256' }), /RS256/],
    ['a credential shaped like a token that is not one', () => 'abc.def.ghi', /not a well-formed Entra ID token/],
    ['neither the secret nor a token', () => 'not-the-secret-at-all', /does not match VIGIL_WEBHOOK_SECRET/],
  ])('refuses %s with 401 and stores nothing', async (_name, credential, reason) => {
    const token = credential();
    const res = await post(token);
    expect(res.status).toBe(401);
    expect(res.body.error).toEqual({ code: 'UNAUTHORIZED', message: expect.stringMatching(reason) });
    expect(JSON.stringify(res.body)).not.toContain(token);
    expect(await stored()).toBe(0);
  });

  it('names both ways in when no credential is sent', async () => {
    const res = await post(null);
    expect(res.status).toBe(401);
    expect(res.body.error.message).toBe('send Authorization: Bearer <VIGIL_WEBHOOK_SECRET> or <Entra ID token>');
    expect(await stored()).toBe(0);
  });

  it('fetches the signing keys once, and a burst of unknown key ids does not make it fetch again', async () => {
    for (let n = 0; n < 3; n++) expect((await post(playbookToken())).status).toBe(202);
    for (let n = 0; n < 3; n++) expect((await post(playbookToken({}, { signWith: 'foreign', kid: `made-up-${n}` }))).status).toBe(401);
    expect(entra.requests('GET', KEYS)).toHaveLength(1);
  });

  it('answers 504 and stores nothing when the keys endpoint does not answer within the budget', async () => {
    await t.close();
    t = await start({ VIGIL_UPSTREAM_TIMEOUT_MS: '50' });
    entra.set({ hang: true });
    const res = await post(playbookToken());
    expect(res.status).toBe(504);
    expect(res.body.error.message).toMatch(/Entra ID signing keys .* did not arrive within 50 ms/);
    expect(await stored()).toBe(0);
  });

  it('answers 502 and stores nothing when the keys endpoint fails', async () => {
    entra.set({ fail: { count: 1, status: 503 } });
    const res = await post(playbookToken());
    expect(res.status).toBe(502);
    expect(res.body.error.message).toMatch(/could not read Entra ID signing keys/);
    expect(await stored()).toBe(0);
    // The next request tries again: a failed fetch is not cached.
    expect((await post(playbookToken())).status).toBe(202);
  });

  it('takes only tokens when only Entra ID is configured (outside local mode)', async () => {
    await t.close();
    t = await start({ MicrosoftAppId: '608cacfd-1cea-40c9-b678-4b93e69bb72b', MicrosoftAppPassword: 'p', VIGIL_WEBHOOK_SECRET: '' });
    const refused = await post('local-dev-secret');
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toBe('the bearer credential is not an Entra ID token');
    expect((await post(null)).body.error.message).toBe('send Authorization: Bearer <Entra ID token>');
    expect(await stored()).toBe(0);
    expect((await post(playbookToken())).status).toBe(202);
  });

  it('refuses tokens when only the secret is configured', async () => {
    await t.close();
    t = await startTestApp({}, { db });
    const res = await post(playbookToken());
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/does not match VIGIL_WEBHOOK_SECRET/);
    expect(await stored()).toBe(0);
  });
});
