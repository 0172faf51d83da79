import fc from 'fast-check';
import { hostileJson } from '../helpers/hostile-json';
import { AppError } from '../../src/errors';
import { parseIncident, parseIsoTime, wellFormed } from '../../src/incidents/parse-incident';
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
    ['a number as a boolean', { incidentNumber: true }, /object\.properties\.incidentNumber: must be a number/],
    ['a number as a string', { incidentNumber: '42' }, /object\.properties\.incidentNumber: must be a number/],
    ['a number in exponent text', { incidentNumber: '1e2' }, /object\.properties\.incidentNumber: must be a number/],
    ['a number in an array', { incidentNumber: [7] }, /object\.properties\.incidentNumber: must be a number/],
    ['a fractional number', { incidentNumber: 1.5 }, /object\.properties\.incidentNumber: must be a whole number/],
    ['a negative number', { incidentNumber: -1 }, /object\.properties\.incidentNumber: must be at least 1/],
    ['a number past 2^53 - 1', { incidentNumber: 2 ** 53 }, /object\.properties\.incidentNumber: must be at most 9007199254740991/],
    ['an alert count as a string', { additionalData: { alertsCount: '3' } }, /object\.properties\.additionalData\.alertsCount: must be a number/],
    ['a date in words', { createdTimeUtc: 'March 7' }, /object\.properties\.createdTimeUtc: must be an ISO 8601 time/],
    ['a time without an offset', { lastModifiedTimeUtc: '2026-11-24T01:20:03' }, /object\.properties\.lastModifiedTimeUtc: must be an ISO 8601 time with an offset/],
    ['a date without a time', { firstActivityTimeUtc: '2026-11-24' }, /object\.properties\.firstActivityTimeUtc: must be an ISO 8601 time/],
    ['31 February', { lastActivityTimeUtc: '2026-02-31T00:00:00Z' }, /object\.properties\.lastActivityTimeUtc: .*not a real date/],
    ['a year before 1970', { createdTimeUtc: '1969-12-31T23:59:59Z' }, /object\.properties\.createdTimeUtc: must be between the years 1970 and 9999/],
    ['a year past 9999', { createdTimeUtc: '+275760-09-13T00:00:00Z' }, /object\.properties\.createdTimeUtc: must be an ISO 8601 time/],
    ['a time as a number', { createdTimeUtc: 1764000000000 }, /object\.properties\.createdTimeUtc: must be an ISO 8601 time/],
    ['a title as a number', { title: 42 }, /object\.properties\.title: must be a string/],
    ['labels as text', { labels: 'urgent' }, /object\.properties\.labels: must be an array/],
    ['a label name as a number', { labels: [{ labelName: 7 }] }, /object\.properties\.labels\.0\.labelName: must be a string/],
    ['an owner as text', { owner: 'jane' }, /object\.properties\.owner: must be an object/],
    ['tactics as text', { additionalData: { tactics: 'Execution' } }, /object\.properties\.additionalData\.tactics: must be an array of strings/],
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

  it('stores NUL and lone surrogates as U+FFFD, everywhere, entity values and labels too', () => {
    const body = withProperties(demoIncident('powershell-web-01'), {
      title: 'nul\u0000 and \ud800 alone',
      description: 'low \udc00 first, pair \ud83d\ude00 kept',
      labels: [{ labelName: 'tag\u0000' }],
      owner: { assignedTo: 'Jane\udfff', objectId: null, email: null, userPrincipalName: null },
      relatedEntities: [{ kind: 'Process', properties: { commandLine: 'cmd.exe /c \u0000echo \ud801' } }],
    });
    const i = parse(body);
    expect(i.title).toBe('nul\ufffd and \ufffd alone');
    expect(i.description).toBe('low \ufffd first, pair \ud83d\ude00 kept');
    expect(i.labels).toEqual(['tag\ufffd']);
    expect(i.owner?.name).toBe('Jane\ufffd');
    expect(i.entities[0]!.value).toBe('cmd.exe /c \ufffdecho \ufffd');
    expect(JSON.stringify(i)).not.toMatch(/\\u0000|\\ud8|\\udc|\\udf/);
  });

  it('reads times with an offset and up to seven fractional digits, and gives them in UTC', () => {
    const i = parse(
      withProperties(demoIncident('powershell-web-01'), {
        createdTimeUtc: '2026-11-24T02:20:00+01:00',
        lastModifiedTimeUtc: '2020-07-20T18:21:53.6158361Z',
        firstActivityTimeUtc: '2026-11-23T20:20:00-05:00',
        lastActivityTimeUtc: '9999-12-31T23:59:59Z',
      }),
    );
    expect(i).toMatchObject({
      createdAt: '2026-11-24T01:20:00.000Z',
      lastModifiedAt: '2020-07-20T18:21:53.615Z',
      firstActivityAt: '2026-11-24T01:20:00.000Z',
      lastActivityAt: '9999-12-31T23:59:59.000Z',
    });
    expect(parseIsoTime('1970-01-01T00:30:00+01:00')).toEqual({ ok: false, message: expect.stringContaining('between the years 1970 and 9999') });
    expect(parseIsoTime('2026-11-24T24:00:00Z').ok).toBe(false);
    expect(parseIsoTime('2026-11-24T01:20:00+15:00').ok).toBe(false);
    expect(parseIsoTime('0050-01-01T00:00:00Z').ok).toBe(false);
  });

  it('refuses a body nested deeper than any Sentinel payload instead of overflowing the stack', () => {
    let deep: unknown = 'x';
    for (let n = 0; n < 10_000; n++) deep = [deep];
    expect(() => parse(withProperties(demoIncident('powershell-web-01'), { relatedEntities: [deep] }))).toThrow(/body: nested deeper than 64 levels/);
  });

  it('takes any JSON value to an Incident or a BAD_REQUEST naming a field, never another exception (property)', () => {
    const demo = demoIncident('brute-force-admin');
    const anyJson = hostileJson(['\u0000', '\ud800', '\udc00x', '1e2', '2026-02-30T00:00:00Z', '0000-01-01T00:00:00Z', 'NaN', '__proto__']);
    const property = fc.property(
      fc.oneof(
        anyJson,
        // A real envelope with one property replaced by any value.
        fc.tuple(fc.constantFrom(...Object.keys(demo.object.properties)), anyJson).map(([k, v]) => withProperties(demo, { [k]: v })),
      ),
      (body) => {
        try {
          const i = parse(body);
          expect(typeof i.number).toBe('number');
          expect(Number.isSafeInteger(i.number)).toBe(true);
          expect(JSON.stringify(i)).not.toMatch(/\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])/);
        } catch (e) {
          if (!(e instanceof AppError) || e.code !== 'BAD_REQUEST') throw e;
          expect(e.message).toMatch(/^(body|[A-Za-z$]+[\w.$-]*): /);
        }
      },
    );
    fc.assert(property, { seed: 20261201, numRuns: 3000 });
  });

  it('wellFormed keeps pairs and replaces only what cannot be stored', () => {
    expect(wellFormed('a\ud83d\ude00b')).toBe('a\ud83d\ude00b');
    expect(wellFormed('\ude00\ud83d')).toBe('\ufffd\ufffd');
    expect(wellFormed('\u0000\u0001')).toBe('\ufffd\u0001');
  });
});
