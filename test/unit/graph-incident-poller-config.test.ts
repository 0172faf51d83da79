import { loadConfig } from '../../src/config';
import { requiredRoles } from '../../src/deploy/required-permissions';

describe('Graph incident poller settings', () => {
  it('is off unless asked for, and then polls on the shared interval, lookback and overlap', () => {
    expect(loadConfig({ GRAPH_ENDPOINT: 'http://127.0.0.1:1' }).graphPoller).toBeUndefined();
    expect(loadConfig({ VIGIL_POLL_GRAPH_INCIDENTS: 'on', GRAPH_ENDPOINT: 'http://127.0.0.1:1', VIGIL_POLL_OVERLAP_MINUTES: '5' }).graphPoller).toEqual({
      intervalMs: 60_000,
      lookbackMs: 3_600_000,
      overlapMs: 300_000,
    });
  });

  it('needs Graph: an endpoint or an Azure credential, said by name', () => {
    expect(() => loadConfig({ VIGIL_POLL_GRAPH_INCIDENTS: 'on' })).toThrow(/VIGIL_POLL_GRAPH_INCIDENTS: reads \/security\/incidents through Microsoft Graph/);
    expect(loadConfig({ VIGIL_POLL_GRAPH_INCIDENTS: 'on', AZURE_USE_MANAGED_IDENTITY: 'true' }).enrichment.graph).toEqual({ baseUrl: 'https://graph.microsoft.com' });
  });

  it('asks for SecurityIncident.ReadWrite.All when it is on, and only then', () => {
    const roles = (env: Record<string, string>) => requiredRoles(loadConfig({ GRAPH_ENDPOINT: 'http://127.0.0.1:1', ...env })).map((r) => r.role);
    expect(roles({ VIGIL_POLL_GRAPH_INCIDENTS: 'on' })).toContain('SecurityIncident.ReadWrite.All');
    expect(roles({})).not.toContain('SecurityIncident.ReadWrite.All');
  });
});
