import { startGraph } from '../../sandbox/graph';
import type { StandIn } from '../../sandbox/stand-in';
import { createGraphUser } from '../../src/enrichment/providers/graph-user';
import { createGraphClient } from '../../src/graph/graph-client';

describe('Entra ID user context through Microsoft Graph', () => {
  let graph: StandIn;
  beforeAll(async () => {
    graph = await startGraph();
  });
  afterAll(() => graph.close());
  beforeEach(() => graph.reset());
  const provider = (timeoutMs = 2000) => createGraphUser({ graph: createGraphClient({ baseUrl: graph.url, timeoutMs }), cacheTtlMs: 60_000 });

  it("reads a privileged user's facts, roles and manager, with no token when no credential is configured", async () => {
    const r = await provider().lookup({ kind: 'account', value: 'admin.jane@contoso.example' });
    expect(r).toMatchObject({
      status: 'ok',
      source: 'Entra ID',
      facts: { name: 'Jane Admin', title: 'IT Administrator', department: 'IT', enabled: true, manager: 'Chris Manager', roles: 'Global Administrator', privileged: true, risk: 'none' },
    });
    const [batch] = graph.requests('POST', '/v1.0/$batch');
    expect((batch!.body as { requests: Array<{ url: string }> }).requests[0]!.url).toBe(
      '/users/admin.jane%40contoso.example?$select=id,displayName,userPrincipalName,jobTitle,department,accountEnabled',
    );
    expect(graph.requests().every((req) => req.headers.authorization === undefined)).toBe(true);
    expect(graph.requests()).toHaveLength(1);
  });

  it("reads Identity Protection's risk level, and says when a user does not exist", async () => {
    expect(await provider().lookup({ kind: 'account', value: 'bob.risky@contoso.example' })).toMatchObject({ facts: { risk: 'high', privileged: false, manager: null } });
    expect(await provider().lookup({ kind: 'account', value: 'nobody@contoso.example' })).toMatchObject({ status: 'ok', facts: { found: false } });
  });

  it('refuses ids that are neither a GUID nor a UPN, so nothing odd reaches a path', () => {
    const p = provider();
    expect(p.supports({ kind: 'account', value: '../../groups' })).toBe(false);
    expect(p.supports({ kind: 'account', value: 'x@y.z?$expand=all' })).toBe(false);
    expect(p.supports({ kind: 'account', value: '5f0c6a1e-2b7d-4e1a-9c3d-000000000001' })).toBe(true);
  });

  it('is unavailable when Graph throttles or does not answer', async () => {
    graph.set({ throttle: { count: 1, retryAfterSeconds: 2 } });
    expect(await provider().lookup({ kind: 'account', value: 'admin.jane@contoso.example' })).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/^Microsoft Graph answered 429/) });
    graph.set({ hang: true });
    expect(await provider(50).lookup({ kind: 'account', value: 'bob.risky@contoso.example' })).toMatchObject({ status: 'unavailable', reason: 'Microsoft Graph did not answer within 50 ms' });
  });
});
