/**
 * Demo unified incidents for the Graph security stand-in. Their shape is Microsoft's published
 * `GET /security/incidents?$expand=alerts` and `GET /security/alerts_v2/{id}` examples
 * (../shared/contracts/graph-security); the values are ours: the contracts publish no populated
 * ip, user, mailbox, url or cloud application evidence, so those follow the resource pages' fields.
 */
export const SANDBOX_GRAPH_TENANT = 'b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c';

const evidenceBase = (type: string, roles: string[] = []) => ({
  '@odata.type': `#microsoft.graph.security.${type}`,
  createdDateTime: '2026-11-30T08:12:00.1234567Z',
  verdict: 'suspicious',
  remediationStatus: 'none',
  remediationStatusDetails: null,
  roles,
  tags: [],
});

const userAccount = {
  accountName: 'bob.risky',
  domainName: 'contoso.example',
  userSid: 'S-1-5-21-1004336348-1177238915-682003330-1107',
  azureAdUserId: '5f0c6a1e-2b7d-4e1a-9c3d-000000000002',
  userPrincipalName: 'bob.risky@contoso.example',
  displayName: 'Bob Risky',
};

const alert = (id: string, incidentId: string, fields: Record<string, unknown>) => ({
  '@odata.type': '#microsoft.graph.security.alert',
  id,
  providerAlertId: id,
  incidentId,
  status: 'new',
  severity: 'high',
  classification: 'unknown',
  determination: 'unknown',
  tenantId: SANDBOX_GRAPH_TENANT,
  assignedTo: null,
  alertWebUrl: `https://security.microsoft.com/alerts/${id}?tid=${SANDBOX_GRAPH_TENANT}`,
  incidentWebUrl: `https://security.microsoft.com/incidents/${incidentId}?tid=${SANDBOX_GRAPH_TENANT}`,
  actorDisplayName: null,
  threatDisplayName: null,
  threatFamilyName: null,
  createdDateTime: '2026-11-30T08:12:00.1234567Z',
  lastUpdateDateTime: '2026-11-30T08:20:00.1234567Z',
  resolvedDateTime: null,
  comments: [],
  systemTags: [],
  ...fields,
});

/**
 * A phishing mail clicked on a managed device, then a sign-in from an anonymising IP and a mass
 * download from a cloud app: three products' alerts in one unified incident, with every evidence
 * type Vigil reads (ip, user, device, file, url, mailbox, process, cloud application).
 */
export function demoUnifiedIncident(id = '3962396', lastUpdateDateTime = '2026-11-30T08:20:00.1234567Z'): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.security.incident',
    id,
    incidentWebUrl: `https://security.microsoft.com/incidents/${id}?tid=${SANDBOX_GRAPH_TENANT}`,
    redirectIncidentId: null,
    tenantId: SANDBOX_GRAPH_TENANT,
    displayName: 'Multi-stage incident involving Initial access & Exfiltration on one endpoint reported by multiple sources',
    createdDateTime: '2026-11-30T08:12:30.5533333Z',
    lastUpdateDateTime,
    assignedTo: null,
    classification: 'unknown',
    determination: 'unknown',
    status: 'active',
    severity: 'high',
    customTags: ['Demo'],
    systemTags: [],
    comments: [],
    description: 'A phishing link was opened on web-01, followed by a sign-in from an anonymous IP and a mass download from SharePoint Online.',
    alerts: [
      alert(`da6385_${id}_1`, id, {
        serviceSource: 'microsoftDefenderForOffice365',
        detectionSource: 'microsoftDefenderForOffice365',
        detectorId: '4e8b2c1a-0000-4000-8000-0000000000a1',
        title: 'Email messages containing malicious URL removed after delivery',
        description: 'Emails with a malicious URL were delivered and later removed.',
        category: 'InitialAccess',
        mitreTechniques: ['T1566.002'],
        firstActivityDateTime: '2026-11-30T08:01:00Z',
        lastActivityDateTime: '2026-11-30T08:02:00Z',
        evidence: [
          { ...evidenceBase('mailboxEvidence', ['destination']), displayName: 'Bob Risky', primaryAddress: 'bob.risky@contoso.example', upn: 'bob.risky@contoso.example', userAccount },
          { ...evidenceBase('urlEvidence', ['source']), url: 'http://login-contoso.example/owa/verify' },
        ],
      }),
      alert(`da6385_${id}_2`, id, {
        serviceSource: 'microsoftDefenderForEndpoint',
        detectionSource: 'antivirus',
        detectorId: 'e0da400f-affd-43ef-b1d5-afc2eb6f2756',
        title: 'Suspicious execution of hidden file',
        description: 'A hidden file has been launched.',
        category: 'DefenseEvasion',
        mitreTechniques: ['T1564.001'],
        firstActivityDateTime: '2026-11-30T08:03:00Z',
        lastActivityDateTime: '2026-11-30T08:05:00Z',
        evidence: [
          {
            ...evidenceBase('deviceEvidence', ['compromised']),
            firstSeenDateTime: '2026-01-12T07:28:32.4321753Z',
            mdeDeviceId: '73e7e2de709dff64ef64b1d0c30e67fab63279db',
            azureAdDeviceId: null,
            deviceDnsName: 'web-01.contoso.example',
            osPlatform: 'Windows10',
            healthStatus: 'active',
            riskScore: 'high',
            ipInterfaces: ['10.0.0.4'],
            loggedOnUsers: [],
            vmMetadata: null,
          },
          {
            ...evidenceBase('fileEvidence'),
            detectionStatus: 'detected',
            mdeDeviceId: '73e7e2de709dff64ef64b1d0c30e67fab63279db',
            fileDetails: {
              sha1: '5f1e8acedc065031aad553b710838eb366cfee9a',
              sha256: '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f',
              fileName: 'invoice.hta',
              filePath: 'C:\\Users\\bob.risky\\Downloads',
              fileSize: 6136,
              filePublisher: null,
              signer: null,
              issuer: null,
            },
          },
          {
            ...evidenceBase('processEvidence'),
            processId: 4780,
            parentProcessId: 668,
            processCommandLine: 'mshta.exe C:\\Users\\bob.risky\\Downloads\\invoice.hta',
            processCreationDateTime: '2026-11-30T08:03:10Z',
            parentProcessCreationDateTime: '2026-11-30T07:39:09Z',
            detectionStatus: 'detected',
            mdeDeviceId: '73e7e2de709dff64ef64b1d0c30e67fab63279db',
            imageFile: { sha1: null, sha256: null, fileName: 'mshta.exe', filePath: 'C:\\Windows\\System32', fileSize: 13312, filePublisher: 'Microsoft Corporation', signer: null, issuer: null },
            parentProcessImageFile: {
              sha1: null,
              sha256: null,
              fileName: 'explorer.exe',
              filePath: 'C:\\Windows',
              fileSize: 4852224,
              filePublisher: 'Microsoft Corporation',
              signer: null,
              issuer: null,
            },
            userAccount,
          },
        ],
      }),
      alert(`da6385_${id}_3`, id, {
        serviceSource: 'microsoftDefenderForCloudApps',
        detectionSource: 'microsoftDefenderForCloudApps',
        detectorId: '9a1c2d3e-0000-4000-8000-0000000000c3',
        title: 'Mass download by a single user after a sign-in from an anonymous IP address',
        description: 'A user downloaded many files from SharePoint Online in one session.',
        category: 'Exfiltration',
        mitreTechniques: ['T1530', 'not-a-technique'],
        firstActivityDateTime: '2026-11-30T08:09:00Z',
        lastActivityDateTime: '2026-11-30T08:11:00Z',
        evidence: [
          { ...evidenceBase('ipEvidence', ['attacker']), ipAddress: '203.0.113.66', countryLetterCode: 'NL' },
          { ...evidenceBase('userEvidence', ['compromised']), userAccount },
          { ...evidenceBase('cloudApplicationEvidence'), appId: 20892, displayName: 'Microsoft SharePoint Online', instanceId: 0, instanceName: 'Microsoft SharePoint Online', saasAppId: 20892 },
        ],
      }),
    ],
  };
}
