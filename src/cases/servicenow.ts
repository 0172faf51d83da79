import { createHttpClient, type HttpClient, type HttpResponse, type TokenSource } from '../http/http-client';
import { NO_RETRY, type RetryPolicy } from '../http/retry-policy';
import { UpstreamError } from '../http/upstream-error';
import { assertCorrelationId, clip, safeLink, type CaseRef, type CaseSeverity, type CaseSystem, type NewCase, type ResolveCase } from './case-system';

const UPSTREAM = 'ServiceNow';

export type ServiceNowAuth = { kind: 'oauth'; clientId: string; clientSecret: string } | { kind: 'basic'; username: string; password: string };

export interface ServiceNowOptions {
  instanceUrl: string;
  /** `incident` (the default) or the Security Incident table `sn_si_incident`. */
  table: string;
  auth: ServiceNowAuth;
  /** The state a resolve sets: 6 (Resolved) on `incident` in the default setup. */
  resolvedState: string;
  /** States that count as resolved when read (resolved, closed, canceled). */
  doneStates: string[];
  /** The `close_code` a resolve sets unless the caller names one. */
  closeCode: string;
  /** Optional `assignment_group` sys_id for new records. */
  assignmentGroup?: string;
  timeoutMs: number;
  retry?: Partial<RetryPolicy>;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

/** Defaults per table: `incident` resolves to 6 (Resolved); Security Incident Response closes to 3. */
export const SERVICENOW_TABLE_DEFAULTS: Record<string, { resolvedState: string; doneStates: string[] }> = {
  incident: { resolvedState: '6', doneStates: ['6', '7', '8'] },
  sn_si_incident: { resolvedState: '3', doneStates: ['3', '7'] },
};

/** Impact and urgency (1 high … 3 low); ServiceNow computes priority from them (1/1 → P1 … 3/3 → P5). */
const IMPACT_URGENCY: Record<CaseSeverity, { impact: string; urgency: string }> = {
  Critical: { impact: '1', urgency: '1' },
  High: { impact: '1', urgency: '2' },
  Medium: { impact: '2', urgency: '2' },
  Low: { impact: '2', urgency: '3' },
  Informational: { impact: '3', urgency: '3' },
};

interface Record_ {
  sys_id: string;
  number: string;
  state: string;
  active?: string;
}

/**
 * Journal fields render `[code]…[/code]` as HTML where the instance allows it; incident text is
 * attacker-written, so the tag is broken before it reaches a work note or a description.
 */
const plain = (text: string) => text.replace(/\[(\/?)code\]/gi, '[$1code\u200b]');

const FIELDS = 'sys_id,number,state,active';
const SYS_ID = /^[0-9a-f]{32}$/;

/**
 * ServiceNow through the Table API: a record per case on `incident` or `sn_si_incident`, found by
 * `correlation_id`, noted with `work_notes`, resolved with `state`, `close_code` and `close_notes`.
 * OAuth client credentials (the token kept until a minute before it expires) or basic auth.
 */
export function createServiceNow(o: ServiceNowOptions): CaseSystem {
  const base = o.instanceUrl.replace(/\/+$/, '');
  const now = o.now ?? Date.now;
  const common = { upstream: UPSTREAM, baseUrl: base, timeoutMs: o.timeoutMs, retry: o.retry, sleep: o.sleep, random: o.random };
  let token: TokenSource | undefined;
  let headers: Record<string, string> | undefined;
  if (o.auth.kind === 'oauth') token = oauthToken(createHttpClient(common), o.auth, now);
  else headers = { authorization: `Basic ${Buffer.from(`${o.auth.username}:${o.auth.password}`).toString('base64')}` };
  const http = createHttpClient({ ...common, token, headers });
  const path = `/api/now/table/${encodeURIComponent(o.table)}`;
  const done = new Set(o.doneStates);

  const ref = (r: Record_): CaseRef => ({
    system: 'servicenow',
    id: r.sys_id,
    number: r.number,
    url: `${base}/${o.table}.do?sys_id=${r.sys_id}`,
    state: done.has(r.state) ? 'resolved' : 'open',
  });

  /** ServiceNow's `{error:{message, detail}}`: the detail says which data policy or ACL refused (the client reads only the message). */
  const refused = <T>(res: HttpResponse<T>): HttpResponse<T> => {
    if (res.status < 400) return res;
    const err = (res.body as { error?: { message?: unknown; detail?: unknown } } | undefined)?.error;
    const text = (v: unknown) => (typeof v === 'string' && v.trim() ? clip(v.replace(/\s+/g, ' ').trim(), 200) : undefined);
    const said = [text(err?.message), text(err?.detail)].filter(Boolean).join(': ');
    throw new UpstreamError(UPSTREAM, res.status, `${UPSTREAM} answered ${res.status}${said ? `: ${said}` : ''}`);
  };
  const WRITE_REFUSALS = [400, 403];

  const call = async <T>(run: (h: HttpClient) => Promise<T>): Promise<T> => {
    try {
      return await run(http);
    } catch (e) {
      throw explain(e, o.auth);
    }
  };

  const get = (id: string, signal?: AbortSignal) => {
    if (!SYS_ID.test(id)) throw new UpstreamError(UPSTREAM, 0, `${UPSTREAM}: not a sys_id: ${JSON.stringify(id.slice(0, 40))}`);
    return call(async (h) => {
      const body = await h.json<{ result: Record_ }>(`${path}/${id}`, { query: { sysparm_fields: FIELDS }, signal });
      return body?.result ? ref(body.result) : undefined;
    });
  };

  return {
    system: 'servicenow',
    findByCorrelationId(correlationId, signal) {
      assertCorrelationId(correlationId);
      return call(async (h) => {
        const res = await h.request<{ result: Record_[] }>({
          path,
          query: { sysparm_query: `correlation_id=${correlationId}^ORDERBYsys_created_on`, sysparm_fields: FIELDS, sysparm_limit: 1 },
          accept: [404], // Table API v1 answers an empty list with 404
          signal,
        });
        const first = res.status === 404 ? undefined : res.body?.result?.[0];
        return first ? ref(first) : undefined;
      });
    },
    create(c: NewCase, signal) {
      assertCorrelationId(c.correlationId);
      const link = safeLink(c.link.url);
      const body = {
        short_description: clip(plain(c.title), 160),
        description: plain([c.description, link && `${c.link.text}: ${link}`].filter(Boolean).join('\n\n')),
        correlation_id: c.correlationId,
        correlation_display: 'Vigil',
        ...IMPACT_URGENCY[c.severity],
        ...(o.assignmentGroup ? { assignment_group: o.assignmentGroup } : {}),
      };
      return call(async (h) => {
        const res = await h.request<{ result: Record_ }>({ method: 'POST', path, query: { sysparm_fields: FIELDS }, body, retry: NO_RETRY, accept: WRITE_REFUSALS, signal }).then(refused);
        if (!res.body?.result?.sys_id) throw new UpstreamError(UPSTREAM, res.status, `${UPSTREAM} answered ${res.status} without the record it created`);
        return ref(res.body.result);
      });
    },
    async addNote(id, text, signal) {
      if (!SYS_ID.test(id)) throw new UpstreamError(UPSTREAM, 0, `${UPSTREAM}: not a sys_id`);
      await call((h) => h.request({ method: 'PATCH', path: `${path}/${id}`, query: { sysparm_fields: FIELDS }, body: { work_notes: plain(text) }, accept: WRITE_REFUSALS, signal }).then(refused));
    },
    async resolve(id, r: ResolveCase, signal) {
      const current = await get(id, signal);
      if (!current) throw new UpstreamError(UPSTREAM, 404, `${UPSTREAM} has no ${o.table} record ${id}`);
      if (current.state === 'resolved') return current;
      return call(async (h) => {
        const res = await h
          .request<{ result: Record_ }>({
            method: 'PATCH',
            path: `${path}/${id}`,
            query: { sysparm_fields: FIELDS },
            body: { state: o.resolvedState, close_code: r.closeCode ?? o.closeCode, close_notes: plain(r.notes) },
            accept: WRITE_REFUSALS,
            signal,
          })
          .then(refused);
        return res.body?.result ? ref(res.body.result) : { ...current, state: 'resolved' as const };
      });
    },
    get,
  };
}

/** Client-credentials tokens from `/oauth_token.do`, cached until a minute before `expires_in`; one fetch at a time. */
function oauthToken(http: HttpClient, auth: { clientId: string; clientSecret: string }, now: () => number): TokenSource {
  let cached: { token: string; until: number } | undefined;
  let inFlight: Promise<string> | undefined;
  const fetchToken = async () => {
    try {
      const res = await http.request<{ access_token?: string; expires_in?: number | string }>({
        method: 'POST',
        path: '/oauth_token.do',
        raw: {
          contentType: 'application/x-www-form-urlencoded',
          data: new URLSearchParams({ grant_type: 'client_credentials', client_id: auth.clientId, client_secret: auth.clientSecret }).toString(),
        },
      });
      const token = res.body?.access_token;
      if (!token) throw new UpstreamError(UPSTREAM, res.status, `${UPSTREAM}'s /oauth_token.do answered without an access token`);
      const seconds = Number(res.body?.expires_in ?? 1800);
      cached = { token, until: now() + Math.max(0, (Number.isFinite(seconds) ? seconds : 1800) - 60) * 1000 };
      return token;
    } catch (e) {
      if (e instanceof UpstreamError && (e.status === 400 || e.status === 401)) {
        throw new UpstreamError(
          UPSTREAM,
          e.status,
          `${UPSTREAM} refused the OAuth client credentials (${e.status}); check SERVICENOW_CLIENT_ID and SERVICENOW_CLIENT_SECRET and that the OAuth application allows the client_credentials grant`,
          { code: e.code },
        );
      }
      throw e;
    }
  };
  return async () => {
    if (cached && now() < cached.until) return cached.token;
    inFlight ??= fetchToken().finally(() => (inFlight = undefined));
    return inFlight;
  };
}

/** A 401/403 says which settings to look at; the message never carries them. */
function explain(e: unknown, auth: ServiceNowAuth): unknown {
  if (!(e instanceof UpstreamError) || e.upstream !== UPSTREAM) return e;
  if (e.status === 401 && !e.message.includes('OAuth')) {
    const settings = auth.kind === 'oauth' ? 'SERVICENOW_CLIENT_ID and SERVICENOW_CLIENT_SECRET' : 'SERVICENOW_USERNAME and SERVICENOW_PASSWORD';
    return new UpstreamError(UPSTREAM, 401, `${e.message}; check ${settings}`, { code: e.code });
  }
  if (e.status === 403)
    return new UpstreamError(UPSTREAM, 403, `${e.message}; the ServiceNow user needs a role that may write the table (itil or sn_incident_write on incident, sn_si.analyst on sn_si_incident)`, {
      code: e.code,
    });
  return e;
}
