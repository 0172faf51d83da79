import { createHttpClient, type HttpRequest, type HttpResponse } from '../http/http-client';
import { NO_RETRY, type RetryPolicy } from '../http/retry-policy';
import { UpstreamError } from '../http/upstream-error';
import { assertCorrelationId, clip, safeLink, type CaseRef, type CaseSeverity, type CaseSystem, type NewCase, type ResolveCase } from './case-system';

const UPSTREAM = 'Jira';

export interface JiraOptions {
  baseUrl: string;
  email: string;
  apiToken: string;
  projectKey: string;
  issueType: string;
  /** Jira priority names per severity; undefined sends none (a project whose create screen has no priority). */
  priorities?: Partial<Record<CaseSeverity, string>>;
  timeoutMs: number;
  retry?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const DEFAULT_JIRA_PRIORITIES: Record<CaseSeverity, string> = { Critical: 'Highest', High: 'High', Medium: 'Medium', Low: 'Low', Informational: 'Lowest' };

export const PROJECT_KEY = /^[A-Z][A-Z0-9_]{1,9}$/;
const ISSUE_KEY = /^[A-Z][A-Z0-9_]{1,9}-\d{1,9}$/;

type Adf = { type: 'doc'; version: 1; content: unknown[] };

/** Plain text as Atlassian Document Format: a paragraph per blank-line block, hard breaks inside; `link` last, as a link mark. */
export function toAdf(text: string, link?: { url: string; text: string }): Adf {
  const paragraphs = text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => ({ type: 'paragraph', content: p.split('\n').flatMap((line, i) => [...(i > 0 ? [{ type: 'hardBreak' }] : []), ...(line ? [{ type: 'text', text: line }] : [])]) }));
  const href = link && safeLink(link.url);
  if (href) paragraphs.push({ type: 'paragraph', content: [{ type: 'text', text: link.text, marks: [{ type: 'link', attrs: { href } }] } as never] });
  return { type: 'doc', version: 1, content: paragraphs.length > 0 ? paragraphs : [{ type: 'paragraph', content: [] }] };
}

interface Issue {
  id: string;
  key: string;
  fields?: { status?: { name?: string; statusCategory?: { key?: string } } };
}
interface Transition {
  id: string;
  name: string;
  to?: { name?: string; statusCategory?: { key?: string } };
  fields?: Record<string, { required?: boolean }>;
}

/** Jira's `{errorMessages, errors}`, which the shared client does not read; 401 names the settings to check. */
const refused = <T>(res: HttpResponse<T>): HttpResponse<T> => {
  if (res.status < 400) return res;
  const b = res.body as { errorMessages?: unknown; errors?: unknown } | undefined;
  const messages = [
    ...(Array.isArray(b?.errorMessages) ? b.errorMessages.filter((m): m is string => typeof m === 'string') : []),
    ...(b?.errors && typeof b.errors === 'object' ? Object.entries(b.errors).map(([k, v]) => `${k}: ${String(v)}`) : []),
  ];
  const said = messages.length > 0 ? `: ${clip(messages.join('; ').replace(/\s+/g, ' '), 200)}` : '';
  const hint =
    res.status === 401
      ? '; check JIRA_EMAIL and JIRA_API_TOKEN (an API token from id.atlassian.com, not the password)'
      : res.status === 403
        ? '; the Jira user needs Browse, Create, Edit, Add comments and Transition issues in the project'
        : '';
  throw new UpstreamError(UPSTREAM, res.status, `${UPSTREAM} answered ${res.status}${said}${hint}`);
};
const REFUSALS = [400, 401, 403, 404, 409, 413, 422];

/**
 * Jira Cloud through REST v3: an issue per case in the configured project and issue type, found by a
 * label holding the correlation id (a bounded JQL on `/search/jql`), ADF descriptions and comments,
 * and "resolved" as the transition whose target status is in the `done` category. E-mail and API token.
 * Search results may lag a create by a moment, so two creates within that moment both miss:
 * the caller serialises creation (one durable job per incident).
 */
export function createJira(o: JiraOptions): CaseSystem {
  if (!PROJECT_KEY.test(o.projectKey)) throw new Error(`not a Jira project key: ${o.projectKey}`);
  const base = o.baseUrl.replace(/\/+$/, '');
  const http = createHttpClient({
    upstream: UPSTREAM,
    baseUrl: base,
    timeoutMs: o.timeoutMs,
    retry: o.retry,
    sleep: o.sleep,
    random: o.random,
    headers: { authorization: `Basic ${Buffer.from(`${o.email}:${o.apiToken}`).toString('base64')}` },
  });
  const call = <T>(r: HttpRequest) => http.request<T>({ ...r, accept: [...REFUSALS, ...(r.accept ?? [])] }).then(refused);
  const ref = (i: Issue): CaseRef => ({ system: 'jira', id: i.id, number: i.key, url: `${base}/browse/${i.key}`, state: i.fields?.status?.statusCategory?.key === 'done' ? 'resolved' : 'open' });
  const checkId = (id: string) => {
    if (!/^\d{1,18}$/.test(id) && !ISSUE_KEY.test(id)) throw new UpstreamError(UPSTREAM, 0, `${UPSTREAM}: not an issue id or key: ${JSON.stringify(id.slice(0, 40))}`);
  };

  const get = async (id: string, signal?: AbortSignal) => {
    checkId(id);
    try {
      const res = await call<Issue>({ path: `/rest/api/3/issue/${id}`, query: { fields: 'status' }, signal });
      return res.body ? ref(res.body) : undefined;
    } catch (e) {
      if (e instanceof UpstreamError && e.status === 404) return undefined;
      throw e;
    }
  };

  return {
    system: 'jira',
    async findByCorrelationId(correlationId, signal) {
      assertCorrelationId(correlationId);
      const res = await call<{ issues?: Issue[] }>({
        path: '/rest/api/3/search/jql',
        query: { jql: `project = "${o.projectKey}" AND labels = "${correlationId}" ORDER BY created ASC`, fields: 'status', maxResults: 1 },
        signal,
      });
      const first = res.body?.issues?.[0];
      return first ? ref(first) : undefined;
    },
    async create(c: NewCase, signal) {
      assertCorrelationId(c.correlationId);
      const priority = o.priorities?.[c.severity];
      const res = await call<{ id?: string; key?: string }>({
        method: 'POST',
        path: '/rest/api/3/issue',
        body: {
          fields: {
            project: { key: o.projectKey },
            issuetype: { name: o.issueType },
            summary: clip(c.title.replace(/[\r\n]+/g, ' '), 255),
            description: toAdf(c.description, c.link),
            labels: ['vigil', c.correlationId],
            ...(priority ? { priority: { name: priority } } : {}),
          },
        },
        retry: NO_RETRY,
        signal,
      });
      if (!res.body?.id || !res.body.key) throw new UpstreamError(UPSTREAM, res.status, `${UPSTREAM} answered ${res.status} without the issue it created`);
      return { system: 'jira', id: res.body.id, number: res.body.key, url: `${base}/browse/${res.body.key}`, state: 'open' };
    },
    async addNote(id, text, signal) {
      checkId(id);
      await call({ method: 'POST', path: `/rest/api/3/issue/${id}/comment`, body: { body: toAdf(text) }, signal });
    },
    async resolve(id, r: ResolveCase, signal) {
      const current = await get(id, signal);
      if (!current) throw new UpstreamError(UPSTREAM, 404, `${UPSTREAM} has no issue ${id}`);
      if (current.state === 'resolved') return current;
      const res = await call<{ transitions?: Transition[] }>({ path: `/rest/api/3/issue/${id}/transitions`, query: { expand: 'transitions.fields' }, signal });
      const done = (res.body?.transitions ?? []).find((t) => t.to?.statusCategory?.key === 'done');
      if (!done) throw new UpstreamError(UPSTREAM, 409, `${UPSTREAM} offers no transition to a done status from ${current.number}'s status; add one to the project's workflow`);
      await call({ method: 'POST', path: `/rest/api/3/issue/${id}/comment`, body: { body: toAdf(r.notes) }, signal });
      const fields = done.fields?.resolution ? { resolution: { name: r.closeCode ?? 'Done' } } : undefined;
      await call({ method: 'POST', path: `/rest/api/3/issue/${id}/transitions`, body: { transition: { id: done.id }, ...(fields ? { fields } : {}) }, signal });
      return { ...current, state: 'resolved' };
    },
    get,
  };
}
