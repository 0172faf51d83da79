import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { createSentinelRoutes, startSentinel, type SentinelIncidentResource, type SentinelStandIn } from '../../sandbox/sentinel';
import { startStandIn, type Route, type StandIn } from '../../sandbox/stand-in';
import { UpstreamError } from '../../src/http/upstream-error';
import { AppError } from '../../src/errors';
import { parseIncident } from '../../src/incidents/parse-incident';
import { createSentinelClient, type SentinelClient } from '../../src/sentinel/sentinel-client';
import { demoIncident } from '../helpers/fixtures';

const SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';
const INCIDENT = '/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.OperationalInsights/workspaces/:ws/providers/Microsoft.SecurityInsights/incidents/:id';
const INDICATORS = '/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.OperationalInsights/workspaces/:ws/providers/Microsoft.SecurityInsights/threatIntelligence/main';
const OWNER = { objectId: '0b1d3c5e-0000-4000-8000-000000000101', assignedTo: 'Megan Bowen', userPrincipalName: 'meganb@contoso.example' };

/** A fresh copy of the demo incident (New, unassigned, no labels) under a name of its own. */
const newIncident = (properties: Record<string, unknown> = {}): SentinelIncidentResource => {
  const base = demoIncident('brute-force-admin').object as SentinelIncidentResource;
  const name = randomUUID();
  return { ...base, id: base.id.replace(/[^/]+$/, name), name, properties: { ...base.properties, ...properties } };
};

const clientFor = (url: string, o: { timeoutMs?: number; credential?: TokenCredential } = {}): SentinelClient =>
  createSentinelClient({ armEndpoint: url, subscriptionId: SUBSCRIPTION, resourceGroup: 'soc-rg', workspaceName: 'soc-workspace', timeoutMs: o.timeoutMs ?? 2000, credential: o.credential });

const failure = async (p: Promise<unknown>): Promise<UpstreamError> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UpstreamError);
  return e as UpstreamError;
};

describe('Sentinel write-back: incidents', () => {
  let sentinel: SentinelStandIn;
  beforeAll(async () => {
    sentinel = await startSentinel();
  });
  afterAll(() => sentinel.close());
  beforeEach(() => sentinel.reset());

  const seeded = (properties?: Record<string, unknown>) => {
    const incident = newIncident(properties);
    sentinel.putIncident(incident);
    return incident;
  };

  it('assigns an owner with the etag it read, keeping the rest of the incident', async () => {
    const incident = seeded();
    const answered = await clientFor(sentinel.url).updateIncident(incident.id, { owner: OWNER, status: 'Active' });

    const [get] = sentinel.requests('GET', INCIDENT);
    const [put] = sentinel.requests('PUT', INCIDENT);
    expect(get!.query['api-version']).toBe('2025-09-01');
    expect(put!.query['api-version']).toBe('2025-09-01');
    expect(put!.body).toMatchObject({ etag: incident.etag, properties: { owner: OWNER, status: 'Active', title: incident.properties.title, severity: 'High' } });
    expect(sentinel.getIncident(incident.name)!.properties).toMatchObject({ owner: OWNER, status: 'Active', incidentNumber: 1041, description: incident.properties.description });
    expect(parseIncident(answered, { portalUrl: 'https://portal.azure.com' })).toMatchObject({ status: 'Active', owner: { name: 'Megan Bowen', objectId: OWNER.objectId } });
  });

  it('sends the whole incident, so what it does not change survives a PUT that replaces', async () => {
    const labels = [{ labelName: 'Phishing', labelType: 'AutoAssigned' }];
    const incident = seeded({ labels, owner: OWNER, createdTimeUtc: '2026-11-24T01:00:00Z' });
    await clientFor(sentinel.url).updateIncident(incident.id, { status: 'Closed', classification: 'TruePositive' });
    expect(sentinel.getIncident(incident.name)!.properties).toMatchObject({
      status: 'Closed',
      owner: OWNER,
      labels,
      title: incident.properties.title,
      description: incident.properties.description,
      incidentNumber: 1041,
      createdTimeUtc: '2026-11-24T01:00:00Z',
    });
  });

  it('the stand-in replaces the incident on PUT, keeping only what the server sets', async () => {
    const incident = seeded({ labels: [{ labelName: 'vip', labelType: 'User' }], owner: OWNER, createdTimeUtc: '2026-11-24T01:00:00Z' });
    const res = await fetch(`${sentinel.url}${incident.id}?api-version=2025-09-01`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ etag: incident.etag, properties: { title: 'Renamed', severity: 'Low', status: 'Active', incidentNumber: 1 } }),
    });
    expect(res.status).toBe(200);
    const stored = sentinel.getIncident(incident.name)!;
    expect(stored.properties).toMatchObject({
      title: 'Renamed',
      severity: 'Low',
      status: 'Active',
      incidentNumber: 1041,
      createdTimeUtc: '2026-11-24T01:00:00Z',
      lastModifiedTimeUtc: expect.any(String),
    });
    expect(stored.properties).not.toHaveProperty('owner');
    expect(stored.properties).not.toHaveProperty('labels');
    expect(stored.properties).not.toHaveProperty('description');
    expect(stored.etag).not.toBe(incident.etag);
  });

  it('closes with a classification, its reason and a comment', async () => {
    const incident = seeded();
    await clientFor(sentinel.url).updateIncident(incident.id, { status: 'Closed', classification: 'TruePositive', classificationComment: 'Password spray confirmed; account reset.' });
    expect(sentinel.getIncident(incident.name)!.properties).toMatchObject({
      status: 'Closed',
      classification: 'TruePositive',
      classificationReason: 'SuspiciousActivity',
      classificationComment: 'Password spray confirmed; account reset.',
    });

    await clientFor(sentinel.url).updateIncident(incident.id, { status: 'Closed', classification: 'FalsePositive', classificationReason: 'InaccurateData' });
    expect(sentinel.getIncident(incident.name)!.properties).toMatchObject({ classification: 'FalsePositive', classificationReason: 'InaccurateData' });
  });

  it('refuses an incomplete close before sending anything', async () => {
    const incident = seeded();
    const client = clientFor(sentinel.url);
    const refusal = (p: Promise<unknown>) => expect(p).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(client.updateIncident(incident.id, { status: 'Closed' })).rejects.toThrow(AppError);
    await expect(client.updateIncident(incident.id, { status: 'Closed' })).rejects.toThrow('closing an incident needs a classification');
    await refusal(client.updateIncident(incident.id, { status: 'Closed', classification: 'FalsePositive' }));
    await refusal(client.updateIncident(incident.id, { status: 'Closed', classification: 'TruePositive', classificationReason: 'InaccurateData' }));
    await refusal(client.updateIncident(incident.id, { classification: 'BenignPositive' }));
    await refusal(client.updateIncident(incident.id, { owner: { objectId: 'not-a-guid' } }));
    await refusal(client.updateIncident(incident.id.replace(/[^/]+$/, '..%2f..'), { status: 'Active' }));
    expect(sentinel.requests()).toEqual([]);
  });

  it('appends labels once, trimmed, keeping the labels already there', async () => {
    const existing = [
      { labelName: 'Phishing', labelType: 'AutoAssigned' },
      { labelName: 'vip', labelType: 'User' },
    ];
    const incident = seeded({ labels: existing });
    const client = clientFor(sentinel.url);
    const change = { addLabels: ['  contained ', 'VIP', 'contained', 'phishing', '', 'x'.repeat(300)] };
    await client.updateIncident(incident.id, change);
    await client.updateIncident(incident.id, change);
    expect(sentinel.getIncident(incident.name)!.properties.labels).toEqual([...existing, { labelName: 'contained', labelType: 'User' }, { labelName: 'x'.repeat(128), labelType: 'User' }]);
  });

  it('says what Sentinel answered when the incident is gone', async () => {
    const gone = newIncident();
    const e = await failure(clientFor(sentinel.url).updateIncident(gone.id, { status: 'Active' }));
    expect(e).toMatchObject({ upstream: 'Microsoft Sentinel', status: 404 });
    expect(e.message).toBe('Microsoft Sentinel answered 404 NotFound: Incident not found');
  });

  it('hands a long Retry-After back as a retriable UpstreamError, without sleeping on it', async () => {
    const incident = seeded();
    sentinel.set({ throttle: { count: 1, retryAfterSeconds: 120 } });
    const e = await failure(clientFor(sentinel.url).updateIncident(incident.id, { status: 'Active' }));
    expect(e).toMatchObject({ upstream: 'Microsoft Sentinel', status: 429, retryAfterMs: 120_000 });
    expect(e.message).toContain('429 TooManyRequests');
    expect(sentinel.requests('GET', INCIDENT)).toHaveLength(1);
  });

  it('tries a passing 503 or a short throttle again and succeeds', async () => {
    const incident = seeded();
    sentinel.set({ fail: { count: 1, status: 503 } });
    await clientFor(sentinel.url).updateIncident(incident.id, { status: 'Active' });
    sentinel.set({ throttle: { count: 1, retryAfterSeconds: 0.05 } });
    await clientFor(sentinel.url).updateIncident(incident.id, { status: 'Active' });
    expect(sentinel.requests('PUT', INCIDENT)).toHaveLength(2);
  });

  it('gives status 0 when Sentinel does not answer in time', async () => {
    const incident = seeded();
    sentinel.set({ hang: true });
    const e = await failure(clientFor(sentinel.url, { timeoutMs: 50 }).updateIncident(incident.id, { status: 'Active' }));
    expect(e).toMatchObject({ status: 0, message: 'Microsoft Sentinel did not answer within 50 ms' });
  });

  it('sends the bearer token and never repeats it in an error', async () => {
    const incident = seeded();
    const credential: TokenCredential = { getToken: async () => ({ token: 'sekret-bearer-token', expiresOnTimestamp: Date.now() + 3_600_000 }) };
    sentinel.set({ fail: { count: 100, status: 503 } });
    const e = await failure(clientFor(sentinel.url, { credential }).updateIncident(incident.id, { status: 'Active' }));
    expect(e.status).toBe(503);
    expect(e.message).not.toContain('sekret');
    expect(sentinel.requests('GET', INCIDENT)[0]!.headers.authorization).toBe('Bearer sekret-bearer-token');
  });

  it('the stand-in refuses what the real API requires', async () => {
    const incident = seeded();
    const put = (properties: Record<string, unknown>) =>
      fetch(`${sentinel.url}${incident.id}?api-version=2025-09-01`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ properties }) });
    const ok = { title: 'T', severity: 'Low', status: 'Active' };
    for (const bad of [
      { ...ok, title: undefined },
      { ...ok, severity: 'Critical' },
      { ...ok, status: 'Resolved' },
      { ...ok, status: 'Closed' },
      { ...ok, status: 'Closed', classification: 'BenignPositive' },
    ]) {
      const res = await put(bad);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 'BadRequest' } });
    }
    expect((await put({ ...ok, status: 'Closed', classification: 'Undetermined' })).status).toBe(200);
  });
});

describe('Sentinel write-back: an edit between read and write', () => {
  const incident = newIncident({ labels: [] });
  let sentinel: ReturnType<typeof createSentinelRoutes>;
  let server: StandIn;
  /** How many more reads a colleague answers by editing the incident right after. */
  let edits = 0;

  beforeAll(async () => {
    sentinel = createSentinelRoutes([incident]);
    const routes: Route[] = sentinel.routes.map((route) =>
      route.method === 'GET' && route.path.endsWith('/incidents/:incidentId')
        ? {
            ...route,
            handle: async (req) => {
              const reply = await route.handle(req);
              if (edits > 0) {
                edits -= 1;
                const now = sentinel.getIncident(incident.name)!;
                const labels = [...(now.properties.labels as unknown[]), { labelName: `colleague-${edits}`, labelType: 'User' }];
                sentinel.putIncident({ ...now, etag: `"${randomUUID()}"`, properties: { ...now.properties, severity: 'Medium', labels } });
              }
              return reply;
            },
          }
        : route,
    );
    server = await startStandIn('sentinel', routes);
  });
  afterAll(() => server.close());
  beforeEach(() => server.reset());

  it('gets 409 Conflict, reads again and writes over the newer version, keeping the colleague’s edit', async () => {
    edits = 1;
    await clientFor(server.url).updateIncident(incident.id, { owner: OWNER, addLabels: ['vigil'] });

    expect(server.requests().map((r) => r.method)).toEqual(['GET', 'PUT', 'GET', 'PUT']);
    const [first, second] = server.requests('PUT', INCIDENT);
    expect((first!.body as { etag: string }).etag).toBe(incident.etag);
    expect((second!.body as { etag: string }).etag).not.toBe(incident.etag);
    expect(sentinel.getIncident(incident.name)!.properties).toMatchObject({
      owner: OWNER,
      severity: 'Medium',
      labels: [
        { labelName: 'colleague-0', labelType: 'User' },
        { labelName: 'vigil', labelType: 'User' },
      ],
    });
  });

  it('gives up with the 409 after five retries', async () => {
    edits = 100;
    const e = await failure(clientFor(server.url).updateIncident(incident.id, { status: 'Active' }));
    expect(e).toMatchObject({ status: 409 });
    expect(e.message).toBe(`Microsoft Sentinel answered 409 Conflict: Newer version of resource '${incident.name}' exists. Data was not saved`);
    expect(server.requests('PUT', INCIDENT)).toHaveLength(6);
    edits = 0;
  });
});

describe('Sentinel write-back: threat-intelligence indicators', () => {
  let sentinel: SentinelStandIn;
  beforeAll(async () => {
    sentinel = await startSentinel();
  });
  afterAll(() => sentinel.close());
  beforeEach(() => {
    sentinel.reset();
    sentinel.indicators.clear();
  });

  const sha256 = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855';
  it.each([
    ['ip', '203.0.113.66', "[ipv4-addr:value = '203.0.113.66']", 'ipv4-addr', '203.0.113.66'],
    ['ip', '2001:DB8:0:0::66', "[ipv6-addr:value = '2001:db8::66']", 'ipv6-addr', '2001:db8::66'],
    ['domain', 'Login-Contoso.Example.', "[domain-name:value = 'login-contoso.example']", 'domain-name', 'login-contoso.example'],
    ['url', "https://login-contoso.example/o'auth?x=\\1", "[url:value = 'https://login-contoso.example/o\\'auth?x=\\\\1']", 'url', "https://login-contoso.example/o'auth?x=\\1"],
    ['hash', sha256, `[file:hashes.'SHA-256' = '${sha256.toLowerCase()}']`, 'file', sha256.toLowerCase()],
    ['hash', 'da39a3ee5e6b4b0d3255bfef95601890afd80709', "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']", 'file', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    ['hash', 'd41d8cd98f00b204e9800998ecf8427e', "[file:hashes.'MD5' = 'd41d8cd98f00b204e9800998ecf8427e']", 'file', 'd41d8cd98f00b204e9800998ecf8427e'],
  ] as const)('submits %s %s as %s', async (type, value, pattern, patternType, shown) => {
    const validFrom = new Date('2026-11-24T03:00:00Z');
    const { name } = await clientFor(sentinel.url).createThreatIndicator({ type, value, description: 'Password spray source (incident 1041)', labels: [' vigil ', 'incident-1041'], validFrom });

    const [post] = sentinel.requests('POST', `${INDICATORS}/createIndicator`);
    expect(post!.query['api-version']).toBe('2025-09-01');
    expect(post!.body).toEqual({
      kind: 'indicator',
      properties: {
        source: 'Vigil',
        displayName: `Vigil: ${shown}`,
        description: 'Password spray source (incident 1041)',
        pattern,
        patternType,
        threatTypes: ['malicious-activity'],
        validFrom: '2026-11-24T03:00:00.000Z',
        labels: ['vigil', 'incident-1041'],
        revoked: false,
      },
    });
    expect(sentinel.indicators.get(name)).toMatchObject({ name, kind: 'indicator', properties: { pattern, patternType, source: 'Vigil' } });
  });

  it.each([
    ['ip', '203.0.113.300'],
    ['ip', '203.0.113.0/24'],
    ['ip', 'fe80::1%eth0'],
    ['ip', '203.0.113.66\n'.repeat(2)],
    ['domain', "evil'.example"],
    ['domain', 'no-dot'],
    ['url', 'javascript:alert(1)'],
    ['url', `https://evil.example/${'a'.repeat(2048)}`],
    ['url', 'https://evil.example/\u0000'],
    ['hash', 'not-hex-at-all-not-hex-at-all-32'],
    ['hash', 'abc123'],
    ['ip', '   '],
  ] as const)('refuses %s %j before sending anything', async (type, value) => {
    await expect(clientFor(sentinel.url).createThreatIndicator({ type, value, description: 'd' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(sentinel.requests()).toEqual([]);
  });

  it('deletes an indicator once: 200 is removed, then 204 (there was none) is not', async () => {
    const client = clientFor(sentinel.url);
    const { name } = await client.createThreatIndicator({ type: 'domain', value: 'evil.example', description: 'd' });
    const listed = await fetch(`${sentinel.url}${INDICATORS.replace(':sub', SUBSCRIPTION).replace(':rg', 'soc-rg').replace(':ws', 'soc-workspace')}/indicators?api-version=2025-09-01`);
    expect(((await listed.json()) as { value: Array<{ name: string }> }).value.map((i) => i.name)).toEqual([name]);

    await expect(client.deleteThreatIndicator(name)).resolves.toEqual({ removed: true });
    await expect(client.deleteThreatIndicator(name)).resolves.toEqual({ removed: false });
    expect(sentinel.requests('DELETE', `${INDICATORS}/indicators/:name`)).toHaveLength(2);
    const again = await fetch(`${sentinel.url}${INDICATORS.replace(':sub', SUBSCRIPTION).replace(':rg', 'soc-rg').replace(':ws', 'soc-workspace')}/indicators/${name}?api-version=2025-09-01`, {
      method: 'DELETE',
    });
    expect(again.status).toBe(204);
    await expect(client.deleteThreatIndicator('../incidents/x')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('surfaces throttling, failures and silence as UpstreamError', async () => {
    sentinel.set({ throttle: { count: 1, retryAfterSeconds: 3 } });
    expect(await failure(clientFor(sentinel.url).createThreatIndicator({ type: 'ip', value: '203.0.113.66', description: 'd' }))).toMatchObject({ status: 429, retryAfterMs: 3000 });
    sentinel.set({ fail: { count: 100, status: 500 } });
    expect(await failure(clientFor(sentinel.url).deleteThreatIndicator(randomUUID()))).toMatchObject({ status: 500 });
    sentinel.reset();
    sentinel.set({ hang: true });
    expect(await failure(clientFor(sentinel.url, { timeoutMs: 50 }).createThreatIndicator({ type: 'ip', value: '203.0.113.66', description: 'd' }))).toMatchObject({ status: 0 });
  });

  it('the stand-in refuses an indicator the real API would', async () => {
    const url = `${sentinel.url}${INDICATORS.replace(':sub', SUBSCRIPTION).replace(':rg', 'soc-rg').replace(':ws', 'soc-workspace')}/createIndicator`;
    const post = (body: unknown, query = '?api-version=2025-09-01') => fetch(`${url}${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const properties = { source: 'Vigil', pattern: "[url:value = 'https://evil.example']", patternType: 'url' };
    expect((await post({ kind: 'indicator', properties }, '')).status).toBe(400);
    for (const bad of [
      { properties },
      { kind: 'indicator', properties: { ...properties, source: '' } },
      { kind: 'indicator', properties: { ...properties, patternType: undefined } },
      { kind: 'indicator', properties: { ...properties, patternType: 'domain-name' } },
    ]) {
      const res = await post(bad);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 'BadRequest' } });
    }
    expect(sentinel.indicators.size).toBe(0);
  });
});
