import fc from 'fast-check';
import { hostileJson } from '../helpers/hostile-json';
import { demoUnifiedIncident } from '../../sandbox/graph-security-data';
import { AppError } from '../../src/errors';
import { parseGraphIncident } from '../../src/incidents/parse-graph-incident';
import { fixture } from '../helpers/fixtures';

const contract = (name: string) => fixture(`test/fixtures/contracts/graph-security/${name}`);
const kinds = (i: ReturnType<typeof parseGraphIncident>) => i.entities.map((e) => `${e.kind}:${e.value}`);

describe('parseGraphIncident', () => {
  it("reads Microsoft's published incident (PascalCase enums) into a Graph-written incident", () => {
    const i = parseGraphIncident(contract('incident-get.200.json'));
    expect(i).toMatchObject({
      id: '2972395',
      key: 'graph:2972395',
      writeBack: 'graph',
      number: 2972395,
      severity: 'Medium',
      // Defender's Active is Sentinel's New.
      status: 'New',
      classification: 'TruePositive',
      determination: 'MultiStagedAttack',
      owner: { upn: 'KaiC@contoso.onmicrosoft.com' },
      labels: ['Demo', 'Defender Experts'],
      createdAt: '2021-08-13T08:43:35.553Z',
      lastModifiedAt: '2021-09-30T09:35:45.113Z',
      url: 'https://security.microsoft.com/incidents/2972395?tid=12f988bf-16f1-11af-11ab-1d7cd011db47',
      alertCount: 0,
      entities: [],
    });
  });

  it("reads the published alert's evidence: device, file with hashes, process with its image and account; registry keys as other", () => {
    const incident = { ...contract('incidents-list.200.json').value[0], alerts: [contract('alert-get.200.json')] };
    const i = parseGraphIncident(incident);
    expect(i).toMatchObject({
      alertCount: 1,
      techniques: ['T1564.001'],
      tactics: ['DefenseEvasion'],
      products: ['Microsoft Defender for Endpoint'],
      ruleIds: ['e0da400f-affd-43ef-b1d5-afc2eb6f2756'],
    });
    expect(kinds(i)).toEqual([
      'host:tempDns',
      'file:MsSense.exe',
      'filehash:8963a19fb992ad9a76576c5638fd68292cffb9aaac29eb8285f9abf6196a7dec',
      'filehash:5f1e8acedc065031aad553b710838eb366cfee9a',
      'process:"MsSense.exe"',
      'account:NT AUTHORITY\\SYSTEM',
      'other:HKEY_LOCAL_MACHINE\\SYSTEM\\CONTROLSET001\\CONTROL\\WMI\\AUTOLOGGER\\SENSEAUDITLOGGER',
    ]);
    expect(i.entities[0]!.details).toMatchObject({ mdeDeviceId: '73e7e2de709dff64ef64b1d0c30e67fab63279db', azureID: expect.stringContaining('/virtualMachines/NirLaviTests') });
    expect(i.firstActivityAt).toBe('2021-04-26T07:45:50.116Z');
  });

  it('reads every evidence type of the demo unified incident, deduplicated across alerts, with account details for actions', () => {
    const i = parseGraphIncident(demoUnifiedIncident());
    expect(kinds(i)).toEqual([
      'mailbox:bob.risky@contoso.example',
      'account:bob.risky@contoso.example',
      'url:http://login-contoso.example/owa/verify',
      'host:web-01.contoso.example',
      'file:invoice.hta',
      'filehash:275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f',
      'filehash:5f1e8acedc065031aad553b710838eb366cfee9a',
      'process:mshta.exe C:\\Users\\bob.risky\\Downloads\\invoice.hta',
      'file:mshta.exe',
      'ip:203.0.113.66',
      'cloudapp:Microsoft SharePoint Online',
    ]);
    expect(i.entities.find((e) => e.kind === 'account')!.details).toMatchObject({ aadUserId: '5f0c6a1e-2b7d-4e1a-9c3d-000000000002', accountName: 'bob.risky' });
    expect(i.techniques).toEqual(['T1566.002', 'T1564.001', 'T1530']);
    expect(i.products).toEqual(['Microsoft Defender for Office 365', 'Microsoft Defender for Endpoint', 'Microsoft Defender for Cloud Apps']);
    expect(i).toMatchObject({ severity: 'High', status: 'New', alertCount: 3, classification: undefined, determination: undefined });
  });

  it('maps statuses as Microsoft maps Defender to Sentinel, and falls back on unknown enum values', () => {
    const status = (s: string) => parseGraphIncident({ ...demoUnifiedIncident(), status: s }).status;
    expect([status('active'), status('inProgress'), status('resolved'), status('redirected'), status('unknownFutureValue')]).toEqual(['New', 'Active', 'Closed', 'Closed', 'Active']);
    expect(parseGraphIncident({ ...demoUnifiedIncident(), severity: 'catastrophic' }).severity).toBe('Informational');
    expect(parseGraphIncident({ ...demoUnifiedIncident(), classification: 'informationalExpectedActivity' }).classification).toBe('BenignPositive');
  });

  it('takes the Defender link only when it is the portal page of this incident', () => {
    const link = (incidentWebUrl: unknown) => parseGraphIncident({ ...demoUnifiedIncident('77'), incidentWebUrl }).url;
    const built = 'https://security.microsoft.com/incidents/77?tid=b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c';
    expect(link('https://security.microsoft.us/incidents/77')).toBe('https://security.microsoft.us/incidents/77?tid=b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c');
    for (const hostile of [
      'https://evil.example/incidents/77',
      'http://security.microsoft.com/incidents/77',
      'https://security.microsoft.com.evil.example/incidents/77',
      'https://security.microsoft.com/incidents/78',
      'javascript:alert(1)',
      null,
    ]) {
      expect(link(hostile)).toBe(built);
    }
    expect(link('https://x@security.microsoft.com/incidents/77?tid=<script>')).toBe(built.replace(/\?tid=.*/, '?tid=b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c'));
  });

  it('refuses what is not an incident, naming the fields', () => {
    const refused = (body: unknown) => {
      try {
        parseGraphIncident(body);
      } catch (e) {
        expect(e).toBeInstanceOf(AppError);
        return (e as AppError).message;
      }
      throw new Error('accepted');
    };
    expect(refused({ ...demoUnifiedIncident(), id: '../1' })).toMatch(/^id: /);
    expect(refused({ ...demoUnifiedIncident(), createdDateTime: '2026-11-30T08:12:30' })).toMatch(/^createdDateTime: /);
    expect(refused({ ...demoUnifiedIncident(), displayName: 42, customTags: 'x' })).toMatch(/displayName: .*; customTags: /);
    expect(refused([])).toMatch(/^body: /);
  });

  it('takes any JSON value to an Incident or a BAD_REQUEST naming a field, never another exception (property)', () => {
    const demo = demoUnifiedIncident();
    const alert = (demo.alerts as Array<Record<string, unknown>>)[2]!;
    const anyJson = hostileJson(['\u0000', '\ud800', '1e2', '2026-02-30T00:00:00Z', 'NaN', '__proto__', '#microsoft.graph.security.ipEvidence', 'T1059', 'https://security.microsoft.com/incidents/1']);
    const property = fc.property(
      fc.oneof(
        anyJson,
        // The demo incident with one property replaced by any value.
        fc.tuple(fc.constantFrom(...Object.keys(demo)), anyJson).map(([k, v]) => ({ ...demo, [k]: v })),
        // ...or one property of one alert, or one evidence given any value.
        fc.tuple(fc.constantFrom(...Object.keys(alert)), anyJson).map(([k, v]) => ({ ...demo, alerts: [{ ...alert, [k]: v }] })),
        fc.tuple(fc.constantFrom(...Object.keys((alert.evidence as object[])[0]!)), anyJson).map(([k, v]) => ({
          ...demo,
          alerts: [{ ...alert, evidence: (alert.evidence as Array<Record<string, unknown>>).map((e) => ({ ...e, [k]: v })) }],
        })),
      ),
      (body) => {
        try {
          const i = parseGraphIncident(body);
          expect(Number.isSafeInteger(i.number)).toBe(true);
          expect(i.key).toBe(`graph:${i.id}`);
          expect(i.url).toMatch(/^https:\/\/security\.microsoft\.(com|us)\/incidents\/\d+(\?tid=[0-9a-f-]{36})?$|^https:\/\/security\.apps\.mil\//);
          for (const t of i.techniques) expect(t).toMatch(/^T\d{4}(\.\d{3})?$/);
          expect(JSON.stringify(i)).not.toMatch(/\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])/);
        } catch (e) {
          if (!(e instanceof AppError) || e.code !== 'BAD_REQUEST') throw e;
          expect(e.message).toMatch(/^(body|[A-Za-z$@]+[\w.$@-]*): /);
        }
      },
    );
    fc.assert(property, { seed: 20261202, numRuns: 3000 });
  });
});
