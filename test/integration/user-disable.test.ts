import { startGraph } from '../../sandbox/graph';
import { createUserDisabler } from '../../src/actions/executors/user-disable';
import { createGraphClient } from '../../src/graph/graph-client';

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

  it('fails plainly for an unknown user and refuses an id that is not one', async () => {
    await expect(disabler().disable('nobody@contoso.example')).rejects.toThrow('HTTP 404 from Microsoft Graph (no such user)');
    await expect(disabler().disable('../groups/x')).rejects.toThrow('is not an Entra object id or a UPN');
    expect(graph.requests('POST')).toHaveLength(0);
  });
});
