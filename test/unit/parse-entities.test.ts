import { parseEntities } from '../../src/incidents/parse-entities';
import { parseIncident } from '../../src/incidents/parse-incident';
import { alertFromRow, incidentResourceFromRow } from '../../src/ingest/security-incident-row';
import { demoIncident, fixture, withProperties } from '../helpers/fixtures';

const short = (entities: ReturnType<typeof parseEntities>) => entities.map((e) => `${e.kind}:${e.value}`);

/**
 * Entities as SecurityAlert's `Entities` column holds them (the alert schema): `$id`, `Type`, PascalCase
 * identifiers as Microsoft's entity reference names them (learn.microsoft.com/azure/sentinel/entities-reference:
 * Account Name/UPNSuffix/NTDomain/AadUserId/Sid, Host HostName/DnsDomain/AzureID/OMSAgentID/OSFamily,
 * IP Address, File Name/Directory/FileHashes, FileHash Algorithm/Value, Process CommandLine/ProcessId/
 * ImageFile/Account/Host, URL Url, DNS DomainName, Mailbox MailboxPrimaryAddress), nested entities given once
 * with `$id` and then referred to by `$ref`.
 */
const alertSchemaEntities = [
  { $id: '2', Name: 'admin.jane', UPNSuffix: 'contoso.example', AadUserId: '5d3c2a1b-0f9e-4d8c-b7a6-112233445566', Sid: 'S-1-12-1-1', Type: 'account' },
  { $id: '3', Address: '203.0.113.66', Type: 'ip' },
  {
    $id: '4',
    HostName: 'web-01',
    DnsDomain: 'contoso.example',
    AzureID: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/prod-rg/providers/Microsoft.Compute/virtualMachines/web-01',
    OSFamily: 'Linux',
    Type: 'host',
  },
  {
    $id: '5',
    CommandLine: 'powershell.exe -enc SQBFAFgA',
    ProcessId: '4242',
    ImageFile: {
      $id: '6',
      Directory: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0',
      Name: 'powershell.exe',
      FileHashes: [{ $id: '7', Algorithm: 'SHA256', Value: '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f', Type: 'filehash' }],
      Type: 'file',
    },
    Account: { $ref: '2' },
    Host: { $ref: '4' },
    Type: 'process',
  },
  { $ref: '7' },
  { $id: '8', Url: 'http://malware.example/stage2.ps1', Type: 'url' },
  { $id: '9', DomainName: 'evil.example', Type: 'dns' },
  { $id: '10', MailboxPrimaryAddress: 'jane@contoso.example', Upn: 'jane@contoso.example', Type: 'mailbox' },
  { $id: '11', ResourceId: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/prod-rg', Type: 'azure-resource' },
  { $id: '12', Name: 'Office 365', AppId: 11161, Type: 'cloud-application' },
  { $id: '13', Name: 'svc-backup', NTDomain: 'CONTOSO', Type: 'account' },
];

describe('parseEntities', () => {
  it("reads Microsoft's published REST entity (kind + properties)", () => {
    const { entities } = fixture('test/fixtures/contracts/GetAllIncidentEntities.2025-09-01.json').responses['200'].body;
    expect(parseEntities(entities)).toEqual([{ kind: 'account', value: 'domain\\administrator', details: { ntDomain: 'domain', accountName: 'administrator' } }]);
  });

  it("skips Microsoft's published SecurityAlert entity: it is an alert, not an indicator", () => {
    const alerts = fixture('test/fixtures/contracts/GetAllIncidentAlerts.2025-09-01.json').responses['200'].body.value;
    expect(parseEntities(alerts)).toEqual([]);
  });

  it('reads the alert schema: accounts by Name and UPNSuffix, nested and referenced entities, hashes in FileHashes', () => {
    const entities = parseEntities(alertSchemaEntities);
    expect(short(entities)).toEqual([
      'account:admin.jane@contoso.example',
      'ip:203.0.113.66',
      'host:web-01.contoso.example',
      'process:powershell.exe -enc SQBFAFgA',
      'file:powershell.exe',
      'filehash:275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f',
      'url:http://malware.example/stage2.ps1',
      'domain:evil.example',
      'mailbox:jane@contoso.example',
      'azureresource:/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/prod-rg',
      'cloudapp:Office 365',
      'account:CONTOSO\\svc-backup',
    ]);
    expect(entities[0]!.details).toEqual({ aadUserId: '5d3c2a1b-0f9e-4d8c-b7a6-112233445566', sid: 'S-1-12-1-1', upnSuffix: 'contoso.example', accountName: 'admin.jane' });
    expect(entities[2]!.details).toMatchObject({ hostName: 'web-01', azureID: expect.stringContaining('/virtualMachines/web-01'), osFamily: 'Linux' });
    expect(entities[5]!.details).toEqual({ algorithm: 'SHA256' });
    expect(entities[10]!.details).toEqual({ appId: '11161' });
  });

  it('never follows a reference that goes nowhere or round in a circle', () => {
    const a: Record<string, unknown> = { $id: '1', Type: 'process', CommandLine: 'a.exe' };
    a.Parent = a;
    expect(short(parseEntities([a, { $ref: '99' }, { $ref: '1' }, { Type: 'account' }, { Type: 'ip', Address: true }]))).toEqual(['process:a.exe']);
  });

  it('does not read a REST entity’s resource name as an account name', () => {
    expect(parseEntities([{ name: 'e1d3d618', type: 'Microsoft.SecurityInsights/Entities', kind: 'Account', properties: { aadUserId: 'oid-1' } }])).toEqual([
      { kind: 'account', value: 'oid-1', details: { aadUserId: 'oid-1' } },
    ]);
  });
});

describe('one entity parser on every ingest path', () => {
  const portalUrl = 'https://portal.azure.com';

  it('the webhook keeps a SecurityAlert account entity (Name, UPNSuffix, Type: "account") in relatedEntities', () => {
    const body = withProperties(demoIncident('brute-force-admin'), { relatedEntities: [{ $id: '2', Name: 'admin.jane', UPNSuffix: 'contoso.example', Type: 'account' }] });
    expect(short(parseIncident(body, { portalUrl }).entities)).toEqual(['account:admin.jane@contoso.example']);
  });

  it("the webhook reads the entities in the trigger's alerts[].properties", () => {
    const body = withProperties(demoIncident('brute-force-admin'), {
      relatedEntities: [],
      alerts: [
        { properties: { productName: 'Azure Active Directory Identity Protection', entities: alertSchemaEntities.slice(0, 2) } },
        { properties: { relatedEntities: [{ kind: 'Url', properties: { url: 'http://malware.example/x' } }] } },
      ],
    });
    expect(short(parseIncident(body, { portalUrl }).entities)).toEqual(['account:admin.jane@contoso.example', 'ip:203.0.113.66', 'url:http://malware.example/x']);
  });

  it("follows each alert's $ref within that alert: every alert numbers its entities from 1", () => {
    const body = withProperties(demoIncident('brute-force-admin'), {
      relatedEntities: [],
      alerts: [
        { properties: { entities: [{ $id: '2', Type: 'ip', Address: '203.0.113.1' }] } },
        {
          properties: {
            entities: [
              { $id: '2', Type: 'account', Name: 'bob', UPNSuffix: 'contoso.example' },
              { $id: '3', Type: 'process', CommandLine: 'x.exe', Account: { $ref: '2' } },
            ],
          },
        },
      ],
    });
    const i = parseIncident(body, { portalUrl });
    expect(short(i.entities)).toEqual(['ip:203.0.113.1', 'account:bob@contoso.example', 'process:x.exe']);
  });

  it('the poller reads the same entities from a SecurityAlert row as the webhook from the trigger', () => {
    const workspace = { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'soc-rg', workspaceName: 'soc-workspace' };
    const row = { IncidentName: 'abc-1', IncidentNumber: 7, Title: 'Polled', Severity: 'High', Status: 'New', CreatedTime: new Date('2026-11-29T10:00:00Z') };
    const alert = alertFromRow({ ProductName: 'Microsoft Defender for Endpoint', Tactics: 'Execution', Techniques: '[]', Entities: JSON.stringify(alertSchemaEntities) });
    const polled = parseIncident(incidentResourceFromRow(row, workspace, [alert]), { portalUrl });
    const pushed = parseIncident(withProperties(demoIncident('powershell-web-01'), { relatedEntities: alertSchemaEntities }), { portalUrl });
    expect(polled.entities).toEqual(pushed.entities);
    expect(polled.entities).toHaveLength(12);
  });
});
