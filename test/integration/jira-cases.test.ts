import { SANDBOX_JIRA, startJira, type JiraStandIn } from '../../sandbox/jira';
import { correlationIdOf, ensureCase, type NewCase } from '../../src/cases/case-system';
import { createJira, DEFAULT_JIRA_PRIORITIES, type JiraOptions } from '../../src/cases/jira';
import { UpstreamError } from '../../src/http/upstream-error';
import { fixture } from '../helpers/fixtures';

const KEY =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/soc-rg/providers/microsoft.operationalinsights/workspaces/soc-workspace/providers/microsoft.securityinsights/incidents/6a1f3b7c-0d2e-4c1a-9b8e-1f2a3b4c5d01';
const newCase = (key = KEY): NewCase => ({
  correlationId: correlationIdOf(key),
  title: 'Sentinel #42: Brute force against admin.jane',
  description: 'Many failed sign-ins, then a success.\nFrom 203.0.113.7.\n\nAssessed Critical.',
  severity: 'Critical',
  link: { url: 'https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/x', text: 'Open in Sentinel' },
});

describe('Jira Cloud cases through REST v3', () => {
  let jira: JiraStandIn;
  let waits: number[];
  beforeAll(async () => {
    jira = await startJira();
  });
  afterAll(() => jira.close());
  beforeEach(() => {
    jira.reset();
    waits = [];
  });

  const options = (o: Partial<JiraOptions> = {}): JiraOptions => ({ baseUrl: jira.url, ...SANDBOX_JIRA, priorities: DEFAULT_JIRA_PRIORITIES, timeoutMs: 2000, ...o });
  const retry = { sleep: async (ms: number) => void waits.push(ms), random: () => 0.5 };

  it('creates an issue in the project with an ADF description, the correlation label and the mapped priority', async () => {
    const { case: c, created } = await ensureCase(createJira(options()), newCase(), retry);
    expect(created).toBe(true);
    expect(c).toEqual({ system: 'jira', id: '10001', number: 'SOC-1', url: `${jira.url}/browse/SOC-1`, state: 'open' });
    const [post] = jira.requests('POST', '/rest/api/3/issue');
    expect(post!.headers.authorization).toBe(`Basic ${Buffer.from(`${SANDBOX_JIRA.email}:${SANDBOX_JIRA.apiToken}`).toString('base64')}`);
    const fields = (post!.body as { fields: Record<string, any> }).fields;
    expect(fields).toMatchObject({ project: { key: 'SOC' }, issuetype: { name: 'Task' }, labels: ['vigil', correlationIdOf(KEY)], priority: { name: 'Highest' } });
    expect(fields.description).toEqual({
      type: 'doc',
      version: 1,
      content: [
        { type: 'paragraph', content: [{ type: 'text', text: 'Many failed sign-ins, then a success.' }, { type: 'hardBreak' }, { type: 'text', text: 'From 203.0.113.7.' }] },
        { type: 'paragraph', content: [{ type: 'text', text: 'Assessed Critical.' }] },
        {
          type: 'paragraph',
          content: [{ type: 'text', text: 'Open in Sentinel', marks: [{ type: 'link', attrs: { href: 'https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/x' } }] }],
        },
      ],
    });
    // The answer has the published createIssue 201 shape.
    expect(Object.keys(fixture('test/fixtures/contracts/createIssue.POST.201.example.json'))).toEqual(expect.arrayContaining(['id', 'key', 'self']));
  });

  it('finds the first issue by a bounded JQL on its label when the same incident is created again', async () => {
    const first = await ensureCase(createJira(options()), newCase(), retry);
    const second = await ensureCase(createJira(options()), newCase(), retry);
    expect(second).toEqual({ case: first.case, created: false });
    expect(jira.issues()).toHaveLength(1);
    expect(jira.requests('GET', '/rest/api/3/search/jql')[0]!.query.jql).toBe(`project = "SOC" AND labels = "${correlationIdOf(KEY)}" ORDER BY created ASC`);
  });

  it('retries a create refused with 503 and makes exactly one issue', async () => {
    jira.set({ fail: { count: 1, status: 503, method: 'POST', path: '/rest/api/3/issue' } });
    const { case: c } = await ensureCase(createJira(options()), newCase(), retry);
    expect(jira.issues().map((i) => i.key)).toEqual([c.number]);
    expect(jira.requests('POST', '/rest/api/3/issue')).toHaveLength(2);
    expect(waits).toEqual([125]);
  });

  it('comments in ADF, transitions to the done category with notes, and reads an issue done on the other side', async () => {
    const cs = createJira(options());
    const { case: c } = await ensureCase(cs, newCase(), retry);
    await cs.addNote(c.id, 'Vigil: Block IP 203.0.113.7 succeeded.');
    expect(jira.issues()[0]!.comments.map((x) => x.body)).toEqual([
      { type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: 'Vigil: Block IP 203.0.113.7 succeeded.' }] }] },
    ]);

    await expect(cs.resolve(c.number, { notes: 'Closed in Sentinel as TruePositive.' })).resolves.toMatchObject({ state: 'resolved', number: 'SOC-1' });
    expect(jira.issues()[0]!.status.name).toBe('Done');
    expect(jira.requests('POST', '/rest/api/3/issue/:issue/transitions').map((r) => r.body)).toEqual([{ transition: { id: '31' } }]);
    expect(jira.issues()[0]!.comments).toHaveLength(2);
    await cs.resolve(c.id, { notes: 'again' });
    expect(jira.requests('POST', '/rest/api/3/issue/:issue/transitions')).toHaveLength(1);

    const other = await ensureCase(cs, newCase(`${KEY}-2`), retry);
    await expect(cs.get(other.case.id)).resolves.toMatchObject({ state: 'open' });
    jira.moveTo(other.case.number, 'Done');
    await expect(cs.get(other.case.id)).resolves.toMatchObject({ state: 'resolved' });
    await expect(cs.get('SOC-999')).resolves.toBeUndefined();
  });

  it('picks the done transition by its status category, as in the published getTransitions shape', () => {
    const published = fixture<{ transitions: Array<{ to: { statusCategory: { key: string } } }> }>('test/fixtures/contracts/getTransitions.GET.200.example.json');
    // The published example's categories are made up ("in-flight", "completed"): neither is `done`, so it would offer no transition to done.
    expect(published.transitions.map((t) => t.to.statusCategory.key)).not.toContain('done');
  });

  it("explains Jira's own errors: a refused field, and wrong credentials without the token", async () => {
    const e1 = (await createJira(options({ issueType: 'Epicc' }))
      .create(newCase())
      .catch((err: unknown) => err)) as UpstreamError;
    expect(e1).toMatchObject({ upstream: 'Jira', status: 400, message: 'Jira answered 400: issuetype: Specify an issue type' });

    const wrong = 'wrong-api-token-0123456789';
    const e2 = (await ensureCase(createJira(options({ apiToken: wrong })), newCase(), retry).catch((err: unknown) => err)) as UpstreamError;
    expect(e2).toBeInstanceOf(UpstreamError);
    expect(e2.status).toBe(401);
    expect(e2.message).toMatch(/^Jira answered 401; check JIRA_EMAIL and JIRA_API_TOKEN/);
    expect(JSON.stringify({ ...e2, message: e2.message, stack: e2.stack })).not.toContain(wrong);
    expect(jira.issues()).toHaveLength(0);
  });
});
