import { kqlLiterals, startLogAnalytics } from '../../sandbox/loganalytics';
import type { StandIn } from '../../sandbox/stand-in';
import { MALICIOUS_IP } from '../../sandbox/threat-intel-data';
import { createKqlRunner } from '../../src/enrichment/kql-runner';
import { createKqlProvider, loadNamedQueries } from '../../src/enrichment/providers/kql';

describe('KQL look-ups in Log Analytics', () => {
  let la: StandIn;
  beforeAll(async () => {
    la = await startLogAnalytics();
  });
  afterAll(() => la.close());
  beforeEach(() => la.reset());
  const runner = () => createKqlRunner({ baseUrl: la.url, workspaceId: 'ws-1' });
  const provider = () => createKqlProvider({ runner: runner(), queries: loadNamedQueries(), timeoutSeconds: 10, cacheTtlMs: 0 });

  it("runs every named query for an account, and turns the first row's columns into facts", async () => {
    const r = await provider().lookup({ kind: 'account', value: 'admin.jane@contoso.example' });
    expect(r).toMatchObject({ status: 'ok', source: 'Log Analytics', facts: { SignIns24h: 41, Failed24h: 37, Countries: 'NL, US', RelatedIncidents7d: 0 } });
    const sent = la.requests('POST', '/v1/workspaces/:id/query');
    expect(sent).toHaveLength(2);
    expect(sent.every((s) => s.headers.authorization === undefined)).toBe(true);
    expect(sent.map((s) => kqlLiterals((s.body as { query: string }).query))).toEqual([['admin.jane@contoso.example'], ['admin.jane@contoso.example']]);
  });

  it('finds related incidents for an IP', async () => {
    expect(await provider().lookup({ kind: 'ip', value: MALICIOUS_IP })).toMatchObject({ facts: { RelatedIncidents7d: 2, Incidents: '1038, 1041', SignIns24h: 2, Accounts: 1 } });
  });

  it('sends a hostile value as one literal: the workspace sees exactly the value', async () => {
    const hostile = "x' | project secret | where '1'=='1";
    await provider().lookup({ kind: 'account', value: hostile });
    for (const s of la.requests('POST')) expect(kqlLiterals((s.body as { query: string }).query)).toEqual([hostile]);
  });

  it("reports Log Analytics' own error for a bad query, and no answer as unavailable", async () => {
    await expect(runner().run('Nope | take 1', { maxRows: 5, timeoutSeconds: 5 })).rejects.toThrow("Failed to resolve table or column expression named 'Nope'");
    la.set({ fail: { count: 100, status: 503 } }); // more than the look-up's retries
    expect(await provider().lookup({ kind: 'ip', value: MALICIOUS_IP })).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/^Log Analytics: /) });
  });
});
