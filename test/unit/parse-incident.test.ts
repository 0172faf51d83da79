import { parseIncident } from '../../src/incidents/parse-incident';
import { demoIncident, fixture, withProperties } from '../helpers/fixtures';

const portalUrl = 'https://portal.azure.com';
const parse = (body: unknown) => parseIncident(body, { portalUrl });

describe('parseIncident', () => {
  it('reads the automation-rule trigger envelope with its entities', () => {
    const i = parse(demoIncident('powershell-web-01'));
    expect(i).toMatchObject({ number: 1042, severity: 'Medium', status: 'New', alertCount: 1, products: ['Microsoft Defender for Endpoint'], tactics: ['Execution', 'CommandAndControl'] });
    expect(i.entities).toEqual([
      { kind: 'host', value: 'web-01.contoso.example', details: expect.objectContaining({ hostName: 'web-01', dnsDomain: 'contoso.example' }) },
      { kind: 'filehash', value: '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f', details: { algorithm: 'SHA256' } },
      { kind: 'url', value: 'http://malware.example/stage2.ps1', details: {} },
    ]);
  });

  it("reads Microsoft's published GetIncidentById resource", () => {
    const i = parse(fixture('test/fixtures/contracts/GetIncidentById.2024-09-01.json').responses['200'].body);
    expect(i).toMatchObject({
      number: 3177,
      title: 'My incident',
      severity: 'High',
      status: 'Closed',
      classification: 'FalsePositive',
      owner: { name: 'john doe', upn: 'john@contoso.com', email: 'john.doe@contoso.com', objectId: '2046feea-040d-4a46-9e2b-91c2941bfa70' },
      tactics: ['InitialAccess', 'Persistence'],
      lastModifiedAt: '2019-01-01T13:15:30.000Z',
      entities: [],
    });
    expect(i.key).toBe(i.id.toLowerCase());
  });

  it("reads the first incident of Microsoft's published list, and entities of the REST shape", () => {
    const [listed] = fixture('test/fixtures/contracts/GetIncidents.2024-09-01.json').responses['200'].body.value;
    const entities = fixture('test/fixtures/contracts/GetAllIncidentEntities.2025-09-01.json').responses['200'].body.entities;
    const i = parse({ ...listed, properties: { ...listed.properties, relatedEntities: entities } });
    expect(i.entities).toEqual([{ kind: 'account', value: 'domain\\administrator', details: { ntDomain: 'domain', accountName: 'administrator' } }]);
  });

  it('reads flattened PascalCase entities, skips alerts, and drops duplicates', () => {
    const body = withProperties(demoIncident('brute-force-admin'), {
      relatedEntities: [
        { Type: 'ip', Address: '203.0.113.66' },
        { kind: 'Ip', properties: { address: '203.0.113.66' } },
        { kind: 'SecurityAlert', properties: { alertDisplayName: 'x' } },
        { kind: 'DnsResolution', properties: { domainName: 'evil.example' } },
        'not an entity',
      ],
    });
    expect(parse(body).entities.map((e) => `${e.kind}:${e.value}`)).toEqual(['ip:203.0.113.66', 'domain:evil.example']);
  });

  it('builds the portal link from the ARM id, never from the payload', () => {
    const body = withProperties(demoIncident('brute-force-admin'), { incidentUrl: 'https://evil.example/phish' });
    expect(parse(body).url).toBe(`${portalUrl}/#asset/Microsoft_Azure_Security_Insights/Incident${body.object.id}`);
  });

  it.each([
    ['a bad severity', { severity: 'Apocalyptic' }, /object\.properties\.severity: must be one of High, Medium, Low, Informational/],
    ['a missing title', { title: undefined }, /object\.properties\.title/],
    ['an empty title', { title: '   ' }, /object\.properties\.title: must not be empty/],
    ['a bad status', { status: 'Resolved' }, /object\.properties\.status: must be one of New, Active, Closed/],
    ['a bad number', { incidentNumber: 'forty-two' }, /object\.properties\.incidentNumber/],
    ['a bad time', { createdTimeUtc: 'yesterday' }, /object\.properties\.createdTimeUtc: must be an ISO 8601 time/],
  ])('refuses %s, naming the field', (_name, changes, message) => {
    expect(() => parse(withProperties(demoIncident('brute-force-admin'), changes))).toThrow(message);
  });

  it('refuses an id that is not a Sentinel incident, and bodies that are not incidents', () => {
    const body = demoIncident('brute-force-admin');
    body.object.id = '/subscriptions/x/../../etc/passwd';
    expect(() => parse(body)).toThrow(/object\.id: must be a Sentinel incident ARM id/);
    expect(() => parse([])).toThrow(/body: must be a JSON object/);
    expect(() => parse({ objectSchemaType: 'Alert', object: {} })).toThrow(/objectSchemaType: must be "Incident"/);
  });
});
