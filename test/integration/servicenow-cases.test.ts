import { SANDBOX_SERVICENOW_CLIENT, SANDBOX_SERVICENOW_USER, startServiceNow, type ServiceNowStandIn } from '../../sandbox/servicenow';
import { correlationIdOf, ensureCase, type NewCase } from '../../src/cases/case-system';
import { createServiceNow, SERVICENOW_TABLE_DEFAULTS, type ServiceNowOptions } from '../../src/cases/servicenow';
import { UpstreamError } from '../../src/http/upstream-error';
import { fixture } from '../helpers/fixtures';

const INCIDENT_KEY =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/soc-rg/providers/microsoft.operationalinsights/workspaces/soc-workspace/providers/microsoft.securityinsights/incidents/6a1f3b7c-0d2e-4c1a-9b8e-1f2a3b4c5d01';

const newCase = (key = INCIDENT_KEY): NewCase => ({
  correlationId: correlationIdOf(key),
  title: 'Sentinel #42: Brute force against admin.jane [code]<img src=x onerror=alert(1)>[/code]',
  description: 'Many failed sign-ins, then a success, from 203.0.113.7.',
  severity: 'Critical',
  link: { url: 'https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/x', text: 'Open in Sentinel' },
});

describe('ServiceNow cases through the Table API', () => {
  let sn: ServiceNowStandIn;
  let waits: number[];

  beforeAll(async () => {
    sn = await startServiceNow();
  });
  afterAll(() => sn.close());
  beforeEach(() => {
    sn.reset();
    waits = [];
  });

  const options = (o: Partial<ServiceNowOptions> = {}): ServiceNowOptions => ({
    instanceUrl: sn.url,
    table: 'incident',
    auth: { kind: 'oauth', ...SANDBOX_SERVICENOW_CLIENT },
    ...SERVICENOW_TABLE_DEFAULTS.incident!,
    closeCode: 'Solution provided',
    timeoutMs: 2000,
    sleep: async (ms) => void waits.push(ms),
    random: () => 0.5,
    ...o,
  });
  const retry = { sleep: async (ms: number) => void waits.push(ms), random: () => 0.5 };

  it('creates one record with the correlation id, impact and urgency, and a link back, over an OAuth client-credentials token', async () => {
    const cs = createServiceNow(options());
    const { case: c, created } = await ensureCase(cs, newCase(), retry);
    expect(created).toBe(true);
    expect(c).toMatchObject({ system: 'servicenow', number: 'INC0010001', state: 'open', url: `${sn.url}/incident.do?sys_id=${c.id}` });
    expect(c.id).toMatch(/^[0-9a-f]{32}$/);

    const [token] = sn.requests('POST', '/oauth_token.do');
    expect(Object.fromEntries(new URLSearchParams(token!.body as string))).toEqual({
      grant_type: 'client_credentials',
      client_id: SANDBOX_SERVICENOW_CLIENT.clientId,
      client_secret: SANDBOX_SERVICENOW_CLIENT.clientSecret,
    });
    const [post] = sn.requests('POST', '/api/now/table/:table');
    expect(post!.headers.authorization).toMatch(/^Bearer /);
    expect(post!.body).toMatchObject({ correlation_id: correlationIdOf(INCIDENT_KEY), correlation_display: 'Vigil', impact: '1', urgency: '1' });
    const [record] = sn.records();
    expect(record).toMatchObject({ correlation_id: correlationIdOf(INCIDENT_KEY), priority: '1', state: '1' });
    expect(record!.description).toContain('Open in Sentinel: https://portal.azure.com/');
    // Attacker-written text cannot become HTML in ServiceNow's journal and description fields.
    expect(record!.short_description).not.toMatch(/\[code\]/i);
  });

  it('finds the first record on a second create for the same incident (a replay, a retried job)', async () => {
    const cs = createServiceNow(options());
    const first = await ensureCase(cs, newCase(), retry);
    const second = await ensureCase(createServiceNow(options()), newCase(), retry);
    expect(second).toEqual({ case: first.case, created: false });
    expect(sn.records()).toHaveLength(1);
    const [lookup] = sn.requests('GET', '/api/now/table/:table');
    expect(lookup!.query).toMatchObject({ sysparm_query: `correlation_id=${correlationIdOf(INCIDENT_KEY)}^ORDERBYsys_created_on`, sysparm_limit: '1' });
    // Another incident gets its own record.
    await ensureCase(cs, newCase(`${INCIDENT_KEY}-other`), retry);
    expect(sn.records()).toHaveLength(2);
  });

  it('retries a create refused with 503 and makes exactly one record', async () => {
    sn.set({ fail: { count: 1, status: 503, method: 'POST', path: '/api/now/table/:table' } });
    const { case: c, created } = await ensureCase(createServiceNow(options()), newCase(), retry);
    expect(created).toBe(true);
    expect(sn.records().map((r) => r.sys_id)).toEqual([c.id]);
    expect(sn.requests('POST', '/api/now/table/:table')).toHaveLength(2);
    expect(waits).toEqual([125]);
  });

  it('finds the record a create made when its answer was lost, instead of making a second', async () => {
    sn.loseCreateAnswers(1);
    const { case: c, created } = await ensureCase(createServiceNow(options()), newCase(), retry);
    expect(created).toBe(false);
    expect(sn.records().map((r) => r.sys_id)).toEqual([c.id]);
    expect(sn.requests('POST', '/api/now/table/:table')).toHaveLength(1);
  });

  it('adds work notes, resolves with a close code and notes, and leaves a resolved record alone', async () => {
    const cs = createServiceNow(options());
    const { case: c } = await ensureCase(cs, newCase(), retry);
    await cs.addNote(c.id, 'Vigil: Block IP 203.0.113.7 succeeded (requested by Megan Bowen, approved by Alex Wilber).');
    expect(sn.journal(c.id)).toEqual([expect.objectContaining({ element: 'work_notes', value: expect.stringContaining('Block IP 203.0.113.7') })]);

    const resolved = await cs.resolve(c.id, { notes: 'Closed in Sentinel as TruePositive by Alex Wilber.' });
    expect(resolved).toMatchObject({ id: c.id, number: c.number, state: 'resolved' });
    expect(sn.records()[0]).toMatchObject({ state: '6', close_code: 'Solution provided', close_notes: 'Closed in Sentinel as TruePositive by Alex Wilber.' });
    expect(sn.requests('PATCH', '/api/now/table/:table/:sysId').at(-1)!.body).toEqual({
      state: '6',
      close_code: 'Solution provided',
      close_notes: 'Closed in Sentinel as TruePositive by Alex Wilber.',
    });

    const patches = sn.requests('PATCH', '/api/now/table/:table/:sysId').length;
    await expect(cs.resolve(c.id, { notes: 'again' })).resolves.toMatchObject({ state: 'resolved' });
    expect(sn.requests('PATCH', '/api/now/table/:table/:sysId')).toHaveLength(patches);
  });

  it('reads a record resolved on the other side', async () => {
    const cs = createServiceNow(options());
    const { case: c } = await ensureCase(cs, newCase(), retry);
    await expect(cs.get(c.id)).resolves.toMatchObject({ state: 'open' });
    sn.update(c.id, { state: '7', close_code: 'Duplicate', close_notes: 'handled in INC0000046' });
    await expect(cs.get(c.id)).resolves.toMatchObject({ state: 'resolved', number: c.number });
    await expect(cs.get('0'.repeat(32))).resolves.toBeUndefined();
  });

  it("says which fields the instance's data policy wants when a resolve lacks them", async () => {
    const cs = createServiceNow(options({ closeCode: '' }));
    const { case: c } = await ensureCase(cs, newCase(), retry);
    const e = (await cs.resolve(c.id, { notes: 'done' }).catch((err: unknown) => err)) as UpstreamError;
    expect(e).toBeInstanceOf(UpstreamError);
    expect(e.status).toBe(403);
    expect(e.message).toMatch(/Data Policy Exception.*Resolution code/);
    expect(sn.records()[0]!.state).toBe('1');
  });

  it('caches the OAuth token until shortly before it expires', async () => {
    let now = 1_000_000;
    const cs = createServiceNow(options({ now: () => now }));
    await ensureCase(cs, newCase(), retry);
    await cs.addNote(sn.records()[0]!.sys_id!, 'one');
    expect(sn.requests('POST', '/oauth_token.do')).toHaveLength(1);
    now += (1799 - 30) * 1000; // inside the last minute of the token's life
    await cs.addNote(sn.records()[0]!.sys_id!, 'two');
    expect(sn.requests('POST', '/oauth_token.do')).toHaveLength(2);
  });

  it('uses basic authentication and the Security Incident table where configured', async () => {
    const cs = createServiceNow(options({ table: 'sn_si_incident', auth: { kind: 'basic', ...SANDBOX_SERVICENOW_USER }, ...SERVICENOW_TABLE_DEFAULTS.sn_si_incident! }));
    const { case: c } = await ensureCase(cs, newCase(), retry);
    expect(c.number).toMatch(/^SIR\d{7}$/);
    expect(sn.requests('POST', '/oauth_token.do')).toHaveLength(0);
    expect(sn.requests('POST', '/api/now/table/:table')[0]!.headers.authorization).toBe(
      `Basic ${Buffer.from(`${SANDBOX_SERVICENOW_USER.username}:${SANDBOX_SERVICENOW_USER.password}`).toString('base64')}`,
    );
    await expect(cs.resolve(c.id, { notes: 'contained' })).resolves.toMatchObject({ state: 'resolved' });
    expect(sn.records('sn_si_incident')[0]!.state).toBe('3');
  });

  it('gives a clear UpstreamError for wrong credentials, without the secret', async () => {
    const wrongSecret = 'wrong-client-secret-0123456789';
    const e1 = (await ensureCase(createServiceNow(options({ auth: { kind: 'oauth', clientId: SANDBOX_SERVICENOW_CLIENT.clientId, clientSecret: wrongSecret } })), newCase(), retry).catch(
      (err: unknown) => err,
    )) as UpstreamError;
    expect(e1).toBeInstanceOf(UpstreamError);
    expect(e1).toMatchObject({ upstream: 'ServiceNow', status: 401 });
    expect(e1.message).toMatch(/SERVICENOW_CLIENT_ID and SERVICENOW_CLIENT_SECRET/);
    expect(JSON.stringify({ ...e1, message: e1.message, stack: e1.stack })).not.toContain(wrongSecret);

    const wrongPassword = 'wrong-password-9876543210';
    const e2 = (await ensureCase(createServiceNow(options({ auth: { kind: 'basic', username: SANDBOX_SERVICENOW_USER.username, password: wrongPassword } })), newCase(), retry).catch(
      (err: unknown) => err,
    )) as UpstreamError;
    expect(e2).toMatchObject({ upstream: 'ServiceNow', status: 401 });
    expect(e2.message).toBe('ServiceNow answered 401: User Not Authenticated; check SERVICENOW_USERNAME and SERVICENOW_PASSWORD');
    expect(JSON.stringify({ ...e2, message: e2.message, stack: e2.stack })).not.toContain(wrongPassword);
    expect(sn.records()).toHaveLength(0);
  });

  it('answers in the published shapes: a record like the POST 201 example, a token like oauth_token.do', async () => {
    const cs = createServiceNow(options());
    await ensureCase(cs, newCase(), retry);
    const example = fixture<{ result: Record<string, unknown> }>('test/fixtures/contracts/table-incident.POST.201.json').result;
    const token = fixture<Record<string, unknown>>('test/fixtures/contracts/oauth_token.do.200.json');
    const res = await fetch(`${sn.url}/api/now/table/incident/${sn.records()[0]!.sys_id}`, {
      headers: { authorization: `Basic ${Buffer.from(`${SANDBOX_SERVICENOW_USER.username}:${SANDBOX_SERVICENOW_USER.password}`).toString('base64')}` },
    });
    const { result } = (await res.json()) as { result: Record<string, unknown> };
    for (const field of ['sys_id', 'number', 'state', 'impact', 'urgency', 'priority', 'correlation_id', 'close_code', 'close_notes', 'work_notes', 'short_description', 'active']) {
      expect(typeof result[field]).toBe(typeof example[field]);
    }
    const issued = (await (
      await fetch(`${sn.url}/oauth_token.do`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: SANDBOX_SERVICENOW_CLIENT.clientId, client_secret: SANDBOX_SERVICENOW_CLIENT.clientSecret }),
      })
    ).json()) as Record<string, unknown>;
    expect(Object.keys(issued).sort()).toEqual(
      Object.keys(token)
        .filter((k) => k !== 'refresh_token')
        .sort(),
    );
  });
});
