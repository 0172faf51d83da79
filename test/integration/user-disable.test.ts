import { startGraph } from '../../sandbox/graph';
import { createUserDisabler } from '../../src/actions/executors/user-disable';
import { createGraphClient } from '../../src/graph/graph-client';
import { RunAborted } from '../../src/actions/run-aborted';

describe('Disable user through Microsoft Graph', () => {
  let graph: Awaited<ReturnType<typeof startGraph>>;
  beforeAll(async () => {
    graph = await startGraph();
  });
  afterAll(() => graph.close());
  beforeEach(() => graph.reset());
  const disabler = () => createUserDisabler({ graph: createGraphClient({ baseUrl: graph.url, timeoutMs: 2000 }) });

  it('PATCHes accountEnabled false, then revokes the sign-in sessions, in that order', async () => {
    expect(await disabler().disable('bob.risky@contoso.example')).toEqual({ revoked: true });
    const calls = graph.requests().map((r) => [r.method, decodeURIComponent(r.path), r.body]);
    expect(calls).toEqual([
      ['PATCH', '/v1.0/users/bob.risky@contoso.example', { accountEnabled: false }],
      ['POST', '/v1.0/users/bob.risky@contoso.example/revokeSignInSessions', {}],
    ]);
    expect(graph.users.find((u) => u.userPrincipalName === 'bob.risky@contoso.example')!.accountEnabled).toBe(false);
    await disabler().enable('bob.risky@contoso.example');
    expect(graph.users.find((u) => u.userPrincipalName === 'bob.risky@contoso.example')!.accountEnabled).toBe(true);
  });

  it('does not count a 404 from revokeSignInSessions as revoked: the user was not found', async () => {
    // The user disappears between the two calls: the PATCH works, the revoke answers 404.
    graph.set({ fail: { count: 1, status: 404, method: 'POST', path: '/v1.0/users/:id/revokeSignInSessions' } });
    await expect(disabler().disable('bob.risky@contoso.example')).rejects.toMatchObject({ status: 404, message: 'HTTP 404 from Microsoft Graph (no such user)' });
    expect(graph.requests('POST')).toHaveLength(1);
  });

  it('resolves a UPN or an object id to the account Graph has (id in lower case, UPN), and says when there is none', async () => {
    const bob = { id: '5f0c6a1e-2b7d-4e1a-9c3d-000000000002', userPrincipalName: 'bob.risky@contoso.example', displayName: 'Bob Risky' };
    expect(await disabler().resolve('Bob.Risky@contoso.example')).toEqual(bob);
    expect(await disabler().resolve(bob.id.toUpperCase())).toEqual(bob);
    expect(graph.requests('GET', '/v1.0/users/:id').map((r) => r.query.$select)).toEqual(['id,userPrincipalName,displayName', 'id,userPrincipalName,displayName']);
    expect(await disabler().resolve('nobody@contoso.example')).toBeUndefined();
    graph.set({ fail: { count: 1, status: 503 } });
    await expect(disabler().resolve(bob.id)).rejects.toMatchObject({ status: 503 });
    await expect(disabler().resolve('../groups/x')).rejects.toThrow('is not an Entra object id or a UPN');
  });

  it('fails plainly for an unknown user and refuses an id that is not one', async () => {
    await expect(disabler().disable('nobody@contoso.example')).rejects.toThrow('HTTP 404 from Microsoft Graph (no such user)');
    await expect(disabler().disable('../groups/x')).rejects.toThrow('is not an Entra object id or a UPN');
    expect(graph.requests('POST')).toHaveLength(0);
  });

  it('stops when the run is stopped: the PATCH in flight is aborted and the revoke never sent', async () => {
    graph.set({ hang: true });
    const stop = new AbortController();
    const disabling = disabler()
      .disable('bob.risky@contoso.example', stop.signal)
      .catch((e: unknown) => e);
    await graph.waitFor('PATCH', '/v1.0/users/:id');
    stop.abort();
    expect(await disabling).toBeInstanceOf(RunAborted);
    expect(graph.requests().map((r) => r.method)).toEqual(['PATCH']);
  });
});
