import { loadConfig } from '../../src/config';
import { securityAlertQuery, securityIncidentQuery } from '../../src/ingest/security-incident-query';
import { alertFromRow, incidentResourceFromRow } from '../../src/ingest/security-incident-row';
import { parseIncident } from '../../src/incidents/parse-incident';

const BOT = { MicrosoftAppId: '608cacfd-1cea-40c9-b678-4b93e69bb72b', MicrosoftAppPassword: 'x', VIGIL_WEBHOOK_SECRET: '0123456789abcdef0123' };

describe('SecurityIncident poller settings', () => {
  it('is off unless asked for', () => {
    expect(loadConfig({ LOGS_ENDPOINT: 'http://127.0.0.1:1' }).poller).toBeUndefined();
  });

  it('polls every minute by default, reading an hour back at first and ten minutes of overlap', () => {
    expect(loadConfig({ VIGIL_POLL_SECURITY_INCIDENTS: 'on', LOGS_ENDPOINT: 'http://127.0.0.1:1' }).poller).toEqual({ intervalMs: 60_000, lookbackMs: 3_600_000, overlapMs: 600_000 });
  });

  it('needs Log Analytics, and outside local mode the real workspace, naming every missing setting at once', () => {
    let message = '';
    try {
      loadConfig({ ...BOT, VIGIL_POLL_SECURITY_INCIDENTS: 'on', SENTINEL_WORKSPACE_NAME: 'soc' });
    } catch (e) {
      message = (e as Error).message;
    }
    for (const name of ['VIGIL_POLL_SECURITY_INCIDENTS', 'SENTINEL_SUBSCRIPTION_ID', 'SENTINEL_RESOURCE_GROUP', 'SENTINEL_WORKSPACE_ID']) {
      expect(message).toContain(`${name}:`);
    }
    expect(message).not.toContain('SENTINEL_WORKSPACE_NAME:');
    expect(() => loadConfig({ VIGIL_POLL_SECURITY_INCIDENTS: 'on', LOGS_ENDPOINT: 'http://127.0.0.1:1', VIGIL_POLL_INTERVAL_SECONDS: '1' })).toThrow(/VIGIL_POLL_INTERVAL_SECONDS:/);
  });
});

describe('SecurityIncident queries and rows', () => {
  it('quotes the page key and the alert ids as literals, and refuses a time that is not one', () => {
    const q = securityIncidentQuery({ from: new Date('2026-11-30T00:00:00Z'), after: { ingestedAt: '2026-11-30T00:01:02.1234567Z', incidentName: "x' or 1==1 //" }, take: 10 });
    expect(q).toContain("IncidentName > @'x'' or 1==1 //'");
    expect(q).toContain('IngestedAt > datetime(2026-11-30T00:00:00.000Z)');
    expect(() => securityIncidentQuery({ from: new Date(0), after: { ingestedAt: '2026-11-30) | take 1', incidentName: 'a' }, take: 10 })).toThrow(/not a UTC time/);
    expect(securityIncidentQuery({ from: new Date(0), after: { ingestedAt: '2026-11-30T00:00:00Z', incidentName: 'a\nb' }, take: 10 })).not.toContain('a\nb');
    expect(securityAlertQuery(["1'2"])).toContain("SystemAlertId in (@'1''2')");
  });

  it('reads a row and its alert into the same incident the webhook would store', () => {
    const workspace = { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'soc-rg', workspaceName: 'soc-workspace' };
    const alert = alertFromRow({
      ProductName: 'Microsoft Defender for Endpoint',
      Tactics: 'Execution, CommandAndControl',
      Techniques: '["T1059"]',
      Entities: '[{"$id":"2","Type":"account","Name":"jane","UPNSuffix":"contoso.example"},{"$id":"3","Type":"dns","DomainName":"evil.example"},{"$ref":"2"}]',
    });
    const resource = incidentResourceFromRow(
      {
        IncidentName: 'abc-1',
        IncidentNumber: 7,
        Title: 'T',
        Description: '',
        Severity: 'High',
        Status: 'New',
        Classification: '',
        Owner: { assignedTo: 'Megan Bowen' },
        CreatedTime: new Date('2026-11-30T00:00:00Z'),
        LastModifiedTime: new Date('2026-11-30T00:05:00Z'),
        FirstActivityTime: null,
      },
      workspace,
      [alert],
    );
    const incident = parseIncident(resource, { portalUrl: 'https://portal.azure.com' });
    expect(incident).toMatchObject({
      key: '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/soc-rg/providers/microsoft.operationalinsights/workspaces/soc-workspace/providers/microsoft.securityinsights/incidents/abc-1',
      number: 7,
      classification: undefined,
      owner: { name: 'Megan Bowen' },
      lastModifiedAt: '2026-11-30T00:05:00.000Z',
      products: ['Microsoft Defender for Endpoint'],
      tactics: ['Execution', 'CommandAndControl'],
      techniques: ['T1059'],
    });
    expect(incident.entities.map((e) => `${e.kind}:${e.value}`)).toEqual(['account:jane@contoso.example', 'domain:evil.example']);
    expect(() =>
      parseIncident(incidentResourceFromRow({ IncidentName: 'a', IncidentNumber: 1, Title: 'T', Severity: 'High', Status: 'New', CreatedTime: new Date('nonsense') }, workspace), {
        portalUrl: 'https://portal.azure.com',
      }),
    ).toThrow(/createdTimeUtc/);
  });
});
