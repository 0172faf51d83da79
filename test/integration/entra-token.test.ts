import { SANDBOX_PLAYBOOK_OID, startEntra, type EntraStandIn } from '../../sandbox/entra';
import { createEntraTokenVerifier } from '../../src/ingest/entra-token';

const AUDIENCE = 'api://vigil-webhook';
const KEYS = '/:tenant/discovery/v2.0/keys';

describe('the Entra ID token check against the tenant keys endpoint', () => {
  let entra: EntraStandIn;

  beforeAll(async () => {
    entra = await startEntra();
  });
  afterAll(async () => {
    await entra.close();
  });
  beforeEach(() => entra.reset());

  const verifier = (refetchCooldownMs?: number) =>
    createEntraTokenVerifier({ tenantId: entra.tenantId, audiences: [AUDIENCE], allowedCallers: [SANDBOX_PLAYBOOK_OID], authority: entra.authority, timeoutMs: 2000, refetchCooldownMs });
  const token = () => entra.token({ aud: AUDIENCE, oid: SANDBOX_PLAYBOOK_OID });

  it('returns the caller, and matches object ids whatever their case', async () => {
    const verify = createEntraTokenVerifier({
      tenantId: entra.tenantId.toUpperCase(),
      audiences: [AUDIENCE],
      allowedCallers: [SANDBOX_PLAYBOOK_OID.toUpperCase()],
      authority: entra.authority,
      timeoutMs: 2000,
    });
    await expect(verify(token())).resolves.toEqual({ objectId: SANDBOX_PLAYBOOK_OID });
  });

  it('follows a key rollover once the refetch cooldown has passed', async () => {
    const verify = verifier(1000);
    await verify(token());
    entra.rotateKey();
    const rolled = token();
    // Within the cooldown, the new key id is unknown and the keys are not fetched again.
    await expect(verify(rolled)).rejects.toThrow(/key the tenant does not publish/);
    expect(entra.requests('GET', KEYS)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1000));
    await expect(verify(rolled)).resolves.toEqual({ objectId: SANDBOX_PLAYBOOK_OID });
    expect(entra.requests('GET', KEYS)).toHaveLength(2);
  });

  it('fetches the keys once for requests that arrive together', async () => {
    const verify = verifier();
    await Promise.all([verify(token()), verify(token()), verify(token())]);
    expect(entra.requests('GET', KEYS)).toHaveLength(1);
  });

  it('names the keys endpoint when the tenant is unknown there', async () => {
    const verify = createEntraTokenVerifier({
      tenantId: '0e3c1c55-8a43-4f5e-9d0a-7f1f6a2b9c01',
      audiences: [AUDIENCE],
      allowedCallers: [SANDBOX_PLAYBOOK_OID],
      authority: entra.authority,
      timeoutMs: 2000,
    });
    await expect(verify(token())).rejects.toMatchObject({ code: 'UPSTREAM_FAILED', message: expect.stringContaining(`${entra.authority}/0e3c1c55-8a43-4f5e-9d0a-7f1f6a2b9c01/discovery/v2.0/keys`) });
  });
});
