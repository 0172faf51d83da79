import { startGraph } from '../../sandbox/graph';
import { createGraphUser } from '../../src/enrichment/providers/graph-user';
import { createGraphClient } from '../../src/graph/graph-client';

describe('Entra ID user facts in one Graph $batch', () => {
  let graph: Awaited<ReturnType<typeof startGraph>>;
  beforeAll(async () => {
    graph = await startGraph();
  });
  afterAll(() => graph.close());
  beforeEach(() => graph.reset());
  const provider = () => createGraphUser({ graph: createGraphClient({ baseUrl: graph.url, timeoutMs: 2000 }), cacheTtlMs: 60_000 });

  it('asks for the user, manager, roles and risk in one round trip, addressed by UPN', async () => {
    const r = await provider().lookup({ kind: 'account', value: 'bob.risky@contoso.example' });
    expect(r).toMatchObject({ status: 'ok', facts: { name: 'Bob Risky', risk: 'high', privileged: false, manager: null } });
    expect(graph.requests()).toHaveLength(1);
    const [batch] = graph.requests('POST', '/v1.0/$batch');
    const urls = (batch!.body as { requests: Array<{ id: string; method: string; url: string }> }).requests.map((q) => `${q.method} ${q.url}`);
    expect(urls).toEqual([
      'GET /users/bob.risky%40contoso.example?$select=id,displayName,userPrincipalName,jobTitle,department,accountEnabled',
      'GET /users/bob.risky%40contoso.example/manager?$select=displayName',
      'GET /users/bob.risky%40contoso.example/memberOf/microsoft.graph.directoryRole?$select=displayName,roleTemplateId',
      `GET /identityProtection/riskyUsers?$filter=${encodeURIComponent("userPrincipalName eq 'bob.risky@contoso.example'")}`,
    ]);
  });

  it('addresses risk by object id when given one, and reads a 404 inside the batch as "none"', async () => {
    const jane = graph.users.find((u) => u.userPrincipalName === 'admin.jane@contoso.example')!;
    const r = await provider().lookup({ kind: 'account', value: jane.id });
    expect(r).toMatchObject({ status: 'ok', facts: { name: 'Jane Admin', privileged: true, roles: 'Global Administrator', risk: 'none', manager: 'Chris Manager' } });
    const [batch] = graph.requests('POST', '/v1.0/$batch');
    expect((batch!.body as { requests: Array<{ url: string }> }).requests[3]!.url).toBe(`/identityProtection/riskyUsers/${jane.id}`);
    expect(await provider().lookup({ kind: 'account', value: 'nobody@contoso.example' })).toMatchObject({ status: 'ok', facts: { found: false } });
  });

  it('asks again, alone, for a request Graph throttled inside the batch, after the wait it named', async () => {
    graph.throttleInBatch(1, 0.05, /manager/);
    const r = await provider().lookup({ kind: 'account', value: 'admin.jane@contoso.example' });
    expect(r).toMatchObject({ status: 'ok', facts: { manager: 'Chris Manager' } });
    const batches = graph.requests('POST', '/v1.0/$batch').map((b) => (b.body as { requests: Array<{ id: string }> }).requests.map((q) => q.id));
    expect(batches).toEqual([['user', 'manager', 'roles', 'risk'], ['manager']]);
  });

  it('is unavailable, with the reason, when a request stays throttled for longer than it waits', async () => {
    graph.throttleInBatch(1, 30, /memberOf/);
    expect(await provider().lookup({ kind: 'account', value: 'admin.jane@contoso.example' })).toMatchObject({
      status: 'unavailable',
      reason: expect.stringMatching(/^Microsoft Graph answered 429 TooManyRequests.*\(retry after 30 s\)$/),
    });
    expect(graph.requests('POST', '/v1.0/$batch')).toHaveLength(1);
  });

  it('answers each request of a batch on its own, as Graph does', async () => {
    const res = await fetch(`${graph.url}/v1.0/$batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        requests: [
          { id: '1', method: 'GET', url: '/users/admin.jane@contoso.example/memberOf/microsoft.graph.directoryRole' },
          { id: '2', method: 'GET', url: 'users/nobody@contoso.example' },
        ],
      }),
    });
    const body = (await res.json()) as { responses: Array<{ id: string; status: number; body: { value?: unknown[]; error?: { code: string } } }> };
    expect(res.status).toBe(200);
    expect(body.responses.map((r) => [r.id, r.status])).toEqual([
      ['1', 200],
      ['2', 404],
    ]);
    expect(body.responses[1]!.body.error!.code).toBe('Request_ResourceNotFound');
    const tooMany = await fetch(`${graph.url}/v1.0/$batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requests: Array.from({ length: 21 }, (_, n) => ({ id: String(n), method: 'GET', url: '/users' })) }),
    });
    expect(tooMany.status).toBe(400);
  });
});
