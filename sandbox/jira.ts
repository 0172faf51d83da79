import { startStandIn, type Reply, type RouteRequest, type StandIn } from './stand-in';

export const SANDBOX_JIRA = { email: 'vigil@contoso.example', apiToken: 'sandbox-jira-api-token', projectKey: 'SOC', issueType: 'Task' };

const CATEGORIES = {
  new: { self: '/rest/api/3/statuscategory/2', id: 2, key: 'new', colorName: 'blue-gray', name: 'To Do' },
  indeterminate: { self: '/rest/api/3/statuscategory/4', id: 4, key: 'indeterminate', colorName: 'yellow', name: 'In Progress' },
  done: { self: '/rest/api/3/statuscategory/3', id: 3, key: 'done', colorName: 'green', name: 'Done' },
};
/** The default workflow: every status reachable from every other (global transitions), as Jira's simplified workflow has it. */
const STATUSES = [
  { id: '10000', name: 'To Do', category: CATEGORIES.new, transition: { id: '11', name: 'To Do' } },
  { id: '3', name: 'In Progress', category: CATEGORIES.indeterminate, transition: { id: '21', name: 'Start progress' } },
  { id: '10001', name: 'Done', category: CATEGORIES.done, transition: { id: '31', name: 'Done' } },
];
const PRIORITIES = ['Highest', 'High', 'Medium', 'Low', 'Lowest'];
const ISSUE_TYPES = ['Task', 'Bug', 'Incident'];

export interface JiraIssue {
  id: string;
  key: string;
  summary: string;
  description: unknown;
  labels: string[];
  priority?: string;
  status: (typeof STATUSES)[number];
  comments: Array<{ id: string; body: unknown; created: string }>;
  resolution?: string;
  created: string;
}

export interface JiraStandIn extends StandIn {
  issues(): JiraIssue[];
  /** A person moving an issue in Jira (to Done, say). */
  moveTo(key: string, status: 'To Do' | 'In Progress' | 'Done'): void;
}

const errors = (status: number, errorMessages: string[], fieldErrors: Record<string, string> = {}): Reply => ({ status, body: { errorMessages, errors: fieldErrors } });
const isAdf = (v: unknown) =>
  typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'doc' && (v as { version?: unknown }).version === 1 && Array.isArray((v as { content?: unknown }).content);

/**
 * Jira Cloud REST v3 as its OpenAPI spec describes it: issues with keys SOC-n, ADF descriptions and
 * comments (a plain string is refused), labels, `/search/jql` that refuses unbounded JQL, and
 * transitions whose targets carry status categories (`new`, `indeterminate`, `done`); 401 without
 * the e-mail and API token.
 */
export async function startJira(options: { port?: number } = {}): Promise<JiraStandIn> {
  const issues: JiraIssue[] = [];
  let url = '';
  let ids = 10000;
  let comments = 10000;

  const authorised = (h: RouteRequest['headers']) => h.authorization === `Basic ${Buffer.from(`${SANDBOX_JIRA.email}:${SANDBOX_JIRA.apiToken}`).toString('base64')}`;
  const unauthenticated = (): Reply => ({ status: 401, body: 'Client must be authenticated to access this resource.', headers: { 'content-type': 'text/html;charset=UTF-8' } });
  const find = (idOrKey: string) => issues.find((i) => i.id === idOrKey || i.key === idOrKey);
  const missing = () => errors(404, ['Issue does not exist or you do not have permission to see it.']);
  const view = (i: JiraIssue) => ({
    id: i.id,
    key: i.key,
    self: `${url}/rest/api/3/issue/${i.id}`,
    fields: {
      summary: i.summary,
      labels: i.labels,
      status: { self: `${url}/rest/api/3/status/${i.status.id}`, id: i.status.id, name: i.status.name, statusCategory: { ...i.status.category, self: `${url}${i.status.category.self}` } },
      priority: i.priority ? { name: i.priority } : null,
      resolution: i.resolution ? { name: i.resolution } : null,
      created: i.created,
    },
  });

  /** `clause AND clause … [ORDER BY …]` with `field = value` clauses on project, labels, key. */
  const search = (jql: string): JiraIssue[] | Reply => {
    const [where] = jql.split(/\s+ORDER\s+BY\s+/i);
    const clauses = (where ?? '')
      .split(/\s+AND\s+/i)
      .map((c) => c.trim())
      .filter(Boolean);
    if (clauses.length === 0) return errors(400, ['Unbounded JQL queries are not allowed here. Please add a search restriction to your query.']);
    let found = issues;
    for (const c of clauses) {
      const m = /^(project|labels|key)\s*=\s*(?:"([^"]*)"|([\w-]+))$/i.exec(c);
      if (!m) return errors(400, [`Error in the JQL Query: '${c}' is not understood by the sandbox.`]);
      const field = m[1]!.toLowerCase();
      const value = m[2] ?? m[3]!;
      found = found.filter((i) => (field === 'project' ? i.key.startsWith(`${value}-`) : field === 'key' ? i.key === value : i.labels.includes(value)));
    }
    return found;
  };

  const standIn = await startStandIn(
    'jira',
    [
      {
        method: 'POST',
        path: '/rest/api/3/issue',
        handle: ({ headers, body }) => {
          if (!authorised(headers)) return unauthenticated();
          const f = ((body as { fields?: Record<string, unknown> } | undefined)?.fields ?? {}) as {
            project?: { key?: string };
            issuetype?: { name?: string };
            summary?: unknown;
            description?: unknown;
            labels?: unknown;
            priority?: { name?: string };
          };
          const problems: Record<string, string> = {};
          if (f.project?.key !== SANDBOX_JIRA.projectKey) problems.project = 'Specify a valid project ID or key';
          if (!ISSUE_TYPES.includes(f.issuetype?.name ?? '')) problems.issuetype = 'Specify an issue type';
          if (typeof f.summary !== 'string' || f.summary.trim() === '') problems.summary = 'You must specify a summary of the issue.';
          else if (f.summary.length > 255) problems.summary = 'Summary must be less than 255 characters.';
          if (f.description !== undefined && !isAdf(f.description)) problems.description = 'Operation value must be an Atlassian Document (see the Atlassian Document Format)';
          const labels = Array.isArray(f.labels) ? f.labels.map(String) : [];
          const spaced = labels.find((l) => /\s/.test(l) || l.length > 255);
          if (spaced !== undefined) problems.labels = `The label '${spaced.slice(0, 40)}' contains spaces which is invalid.`;
          if (f.priority && !PRIORITIES.includes(f.priority.name ?? '')) problems.priority = 'Specify the Priority (name) in the string format';
          if (Object.keys(problems).length > 0) return errors(400, [], problems);
          ids += 1;
          const issue: JiraIssue = {
            id: String(ids),
            key: `${SANDBOX_JIRA.projectKey}-${issues.length + 1}`,
            summary: f.summary as string,
            description: f.description,
            labels,
            priority: f.priority?.name,
            status: STATUSES[0]!,
            comments: [],
            created: new Date().toISOString(),
          };
          issues.push(issue);
          return { status: 201, body: { id: issue.id, key: issue.key, self: `${url}/rest/api/3/issue/${issue.id}` } };
        },
      },
      {
        method: 'GET',
        path: '/rest/api/3/search/jql',
        handle: ({ headers, query }) => {
          if (!authorised(headers)) return unauthenticated();
          const found = search(query.jql ?? '');
          if (!Array.isArray(found)) return found;
          const max = Math.min(Number(query.maxResults ?? 50), 5000);
          return { status: 200, body: { isLast: found.length <= max, issues: found.slice(0, max).map(view) } };
        },
      },
      {
        method: 'GET',
        path: '/rest/api/3/issue/:issue',
        handle: ({ headers, params }) => {
          if (!authorised(headers)) return unauthenticated();
          const i = find(params.issue!);
          return i ? { status: 200, body: view(i) } : missing();
        },
      },
      {
        method: 'POST',
        path: '/rest/api/3/issue/:issue/comment',
        handle: ({ headers, params, body }) => {
          if (!authorised(headers)) return unauthenticated();
          const i = find(params.issue!);
          if (!i) return missing();
          const b = (body as { body?: unknown } | undefined)?.body;
          if (!isAdf(b)) return errors(400, [], { comment: 'Comment body can not be empty!' });
          comments += 1;
          const c = { id: String(comments), body: b, created: new Date().toISOString() };
          i.comments.push(c);
          return { status: 201, body: { id: c.id, self: `${url}/rest/api/3/issue/${i.id}/comment/${c.id}`, body: b, created: c.created, updated: c.created } };
        },
      },
      {
        method: 'GET',
        path: '/rest/api/3/issue/:issue/transitions',
        handle: ({ headers, params }) => {
          if (!authorised(headers)) return unauthenticated();
          const i = find(params.issue!);
          if (!i) return missing();
          const transitions = STATUSES.filter((s) => s !== i.status).map((s) => ({
            id: s.transition.id,
            name: s.transition.name,
            hasScreen: false,
            isGlobal: true,
            isInitial: false,
            isAvailable: true,
            isConditional: false,
            to: { self: `${url}/rest/api/3/status/${s.id}`, id: s.id, name: s.name, statusCategory: { ...s.category, self: `${url}${s.category.self}` } },
          }));
          return { status: 200, body: { transitions } };
        },
      },
      {
        method: 'POST',
        path: '/rest/api/3/issue/:issue/transitions',
        handle: ({ headers, params, body }) => {
          if (!authorised(headers)) return unauthenticated();
          const i = find(params.issue!);
          if (!i) return missing();
          const id = (body as { transition?: { id?: string } } | undefined)?.transition?.id;
          const to = STATUSES.find((s) => s.transition.id === id && s !== i.status);
          if (!to) return errors(400, [`Transition id '${String(id)}' is not valid for this issue.`]);
          i.status = to;
          i.resolution = to.category.key === 'done' ? ((body as { fields?: { resolution?: { name?: string } } }).fields?.resolution?.name ?? 'Done') : undefined;
          return { status: 204 };
        },
      },
    ],
    options,
  );
  url = standIn.url;
  return {
    ...standIn,
    issues: () => issues.map((i) => ({ ...i })),
    moveTo(key, status) {
      const i = find(key);
      if (i) i.status = STATUSES.find((s) => s.name === status)!;
    },
    reset() {
      standIn.reset();
      issues.length = 0;
    },
  };
}
