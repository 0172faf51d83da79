import crypto from 'node:crypto';
import { startStandIn, type Reply, type RouteRequest, type StandIn } from './stand-in';

export const SANDBOX_SERVICENOW_USER = { username: 'vigil.integration', password: 'sandbox-servicenow-password' };
export const SANDBOX_SERVICENOW_CLIENT = { clientId: 'a329c4515612210071a5e0c298ee2be8', clientSecret: 'sandbox-servicenow-client-secret' };

/** A record as the Table API returns it: every value a string. */
export type ServiceNowRecord = Record<string, string>;

export interface JournalEntry {
  element: 'work_notes' | 'comments';
  value: string;
  at: string;
}

export interface ServiceNowStandIn extends StandIn {
  /** The records of a table as they are now. */
  records(table?: string): ServiceNowRecord[];
  /** What was written to a record's work notes and comments, oldest first. */
  journal(sysId: string): JournalEntry[];
  /** A change made by a person in ServiceNow (resolving a record on the other side, say). */
  update(sysId: string, fields: ServiceNowRecord): void;
  /** The next `count` creates make the record, then answer 504 as a gateway that lost the answer would. */
  loseCreateAnswers(count: number): void;
  /** OAuth tokens issued so far. */
  tokensIssued(): number;
}

const TABLES: Record<string, { prefix: string; firstState: string }> = {
  incident: { prefix: 'INC', firstState: '1' },
  sn_si_incident: { prefix: 'SIR', firstState: '10' },
};
const JOURNAL = new Set(['work_notes', 'comments']);
/** Fields that come back as `{ link, value }` references. */
const REFERENCES = new Set(['assignment_group', 'caller_id', 'opened_by']);

const failure = (status: number, message: string, detail: string | null): Reply => ({ status, body: { error: { message, detail }, status: 'failure' } });
const stamp = (at = new Date()) => at.toISOString().replace('T', ' ').slice(0, 19);

/**
 * ServiceNow's Table API and OAuth endpoint, as the published docs describe them: records with a
 * `sys_id` and an `INC00100xx` number, encoded queries (`field=value^field2=value2^ORDERBYfield`),
 * journal fields that append and read back empty, `{ result }` bodies, the `{ error, status:
 * "failure" }` shape, 401 without credentials, and the default data policy that a resolved
 * incident needs a resolution code and notes.
 */
export async function startServiceNow(options: { port?: number } = {}): Promise<ServiceNowStandIn> {
  const tables = new Map<string, ServiceNowRecord[]>(Object.keys(TABLES).map((t) => [t, []]));
  const journals = new Map<string, JournalEntry[]>();
  const tokens = new Map<string, number>();
  let counter = 0;
  let lose = 0;
  let url = '';

  const shown = (table: string, r: ServiceNowRecord, fields?: string) => {
    const view: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(r)) view[k] = REFERENCES.has(k) && v ? { link: `${url}/api/now/table/sys_user/${v}`, value: v } : v;
    for (const j of JOURNAL) view[j] = '';
    view.sys_class_name = table;
    if (!fields) return view;
    const wanted = fields.split(',').map((f) => f.trim());
    return Object.fromEntries(wanted.filter((f) => f in view).map((f) => [f, view[f]]));
  };

  const authorised = (h: RouteRequest['headers']) => {
    const a = h.authorization ?? '';
    if (a.startsWith('Basic ')) return Buffer.from(a.slice(6), 'base64').toString('utf8') === `${SANDBOX_SERVICENOW_USER.username}:${SANDBOX_SERVICENOW_USER.password}`;
    if (a.startsWith('Bearer ')) return (tokens.get(a.slice(7)) ?? 0) > Date.now();
    return false;
  };
  const unauthenticated = () => failure(401, 'User Not Authenticated', 'Required to provide Auth information');

  const tableOf = (name: string) => tables.get(name);
  const noTable = (name: string) => failure(400, `Invalid table ${name}`, null);

  const write = (table: string, r: ServiceNowRecord, body: Record<string, unknown>) => {
    for (const [k, raw] of Object.entries(body)) {
      const v = raw === null || raw === undefined ? '' : String(raw);
      if (JOURNAL.has(k)) {
        if (v) journals.get(r.sys_id!)!.push({ element: k as JournalEntry['element'], value: v, at: new Date().toISOString() });
      } else if (!k.startsWith('sys_') && k !== 'number') r[k] = v;
    }
    if (table === 'incident') {
      r.incident_state = r.state!;
      if (['6', '7'].includes(r.state!) && !r.resolved_at) r.resolved_at = stamp();
      if (['7', '8'].includes(r.state!)) r.active = 'false';
    }
    r.sys_updated_on = stamp();
    r.sys_mod_count = String(Number(r.sys_mod_count ?? '0') + 1);
  };

  /** The default data policy: resolving or closing needs a resolution code and notes. */
  const policyProblem = (table: string, r: ServiceNowRecord) => {
    if (table !== 'incident' || !['6', '7'].includes(r.state!)) return undefined;
    const missing = [!r.close_code && 'Resolution code', !r.close_notes && 'Resolution notes'].filter(Boolean);
    return missing.length > 0 ? failure(403, 'Operation Failed', `Data Policy Exception: \n The following fields are mandatory: ${missing.join(', ')}\n`) : undefined;
  };

  /** `a=b^c=d^ORDERBYx`: the operators Vigil uses (`=`, `!=`, ordering); an unknown field is ignored, as the docs say. */
  const matches = (r: ServiceNowRecord, query: string | undefined) =>
    (query ?? '')
      .split('^')
      .filter((t) => t && !t.startsWith('ORDERBY'))
      .every((term) => {
        const not = /^(\w+)!=(.*)$/.exec(term);
        if (not) return !(not[1]! in r) || r[not[1]!] !== not[2];
        const eq = /^(\w+)=(.*)$/.exec(term);
        if (eq) return !(eq[1]! in r) || r[eq[1]!] === eq[2];
        return true;
      });

  const standIn = await startStandIn(
    'servicenow',
    [
      {
        method: 'POST',
        path: '/oauth_token.do',
        handle: ({ body }) => {
          const form = new URLSearchParams(typeof body === 'string' ? body : '');
          const client = form.get('client_id') === SANDBOX_SERVICENOW_CLIENT.clientId && form.get('client_secret') === SANDBOX_SERVICENOW_CLIENT.clientSecret;
          const grant = form.get('grant_type');
          const ok =
            client &&
            (grant === 'client_credentials' || (grant === 'password' && form.get('username') === SANDBOX_SERVICENOW_USER.username && form.get('password') === SANDBOX_SERVICENOW_USER.password));
          if (!ok) return { status: 401, body: { error_description: 'access_denied', error: 'server_error' } };
          const token = crypto.randomBytes(48).toString('base64url');
          tokens.set(token, Date.now() + 1799_000);
          return { status: 200, body: { scope: 'useraccount', token_type: 'Bearer', expires_in: 1799, access_token: token } };
        },
      },
      {
        method: 'GET',
        path: '/api/now/table/:table',
        handle: ({ params, query, headers }) => {
          if (!authorised(headers)) return unauthenticated();
          const rows = tableOf(params.table!);
          if (!rows) return noTable(params.table!);
          const order = /\^?ORDERBY(DESC)?(\w+)/.exec(query.sysparm_query ?? '');
          let found = rows.filter((r) => matches(r, query.sysparm_query));
          if (order) found = [...found].sort((a, b) => (a[order[2]!] ?? '').localeCompare(b[order[2]!] ?? '') * (order[1] ? -1 : 1));
          const offset = Number(query.sysparm_offset ?? 0);
          const limit = Number(query.sysparm_limit ?? 10000);
          const page = found.slice(offset, offset + limit);
          return { status: 200, headers: { 'x-total-count': String(found.length) }, body: { result: page.map((r) => shown(params.table!, r, query.sysparm_fields)) } };
        },
      },
      {
        method: 'GET',
        path: '/api/now/table/:table/:sysId',
        handle: ({ params, query, headers }) => {
          if (!authorised(headers)) return unauthenticated();
          const rows = tableOf(params.table!);
          if (!rows) return noTable(params.table!);
          const r = rows.find((x) => x.sys_id === params.sysId);
          if (!r) return failure(404, 'No Record found', "Record doesn't exist or ACL restricts the record retrieval");
          return { status: 200, body: { result: shown(params.table!, r, query.sysparm_fields) } };
        },
      },
      {
        method: 'POST',
        path: '/api/now/table/:table',
        handle: ({ params, query, headers, body }) => {
          if (!authorised(headers)) return unauthenticated();
          const rows = tableOf(params.table!);
          if (!rows) return noTable(params.table!);
          if (typeof body !== 'object' || body === null || Array.isArray(body)) return failure(400, 'Exception while reading request', 'The payload is not valid JSON.');
          counter += 1;
          const now = stamp();
          const { prefix, firstState } = TABLES[params.table!]!;
          const r: ServiceNowRecord = {
            sys_id: crypto.randomBytes(16).toString('hex'),
            number: `${prefix}${String(10_000 + counter).padStart(7, '0')}`,
            state: firstState,
            incident_state: firstState,
            active: 'true',
            impact: '3',
            urgency: '3',
            priority: '5',
            short_description: '',
            description: '',
            correlation_id: '',
            correlation_display: '',
            close_code: '',
            close_notes: '',
            assignment_group: '',
            opened_by: '6816f79cc0a8016401c5a33be04be441',
            opened_at: now,
            resolved_at: '',
            sys_created_on: now,
            sys_created_by: headers.authorization?.startsWith('Basic ') ? SANDBOX_SERVICENOW_USER.username : 'oauth.client',
            sys_updated_on: now,
            sys_mod_count: '-1',
          };
          journals.set(r.sys_id!, []);
          write(params.table!, r, body as Record<string, unknown>);
          r.priority = String(Math.min(5, Number(r.impact) + Number(r.urgency) - 1));
          rows.push(r);
          if (lose > 0) {
            lose -= 1;
            return { status: 504, body: '<html><body><h1>504 Gateway Time-out</h1></body></html>', headers: { 'content-type': 'text/html' } };
          }
          return { status: 201, headers: { location: `${url}/api/now/table/${params.table}/${r.sys_id}` }, body: { result: shown(params.table!, r, query.sysparm_fields) } };
        },
      },
      {
        method: 'PATCH',
        path: '/api/now/table/:table/:sysId',
        handle: ({ params, query, headers, body }) => {
          if (!authorised(headers)) return unauthenticated();
          const rows = tableOf(params.table!);
          if (!rows) return noTable(params.table!);
          const r = rows.find((x) => x.sys_id === params.sysId);
          if (!r) return failure(404, 'No Record found', "Record doesn't exist or ACL restricts the record retrieval");
          if (typeof body !== 'object' || body === null || Array.isArray(body)) return failure(400, 'Exception while reading request', 'The payload is not valid JSON.');
          const draft = { ...r };
          const before = journals.get(r.sys_id!)!.length;
          write(params.table!, draft, body as Record<string, unknown>);
          const refused = policyProblem(params.table!, draft);
          if (refused) {
            journals.get(r.sys_id!)!.length = before;
            return refused;
          }
          Object.assign(r, draft);
          return { status: 200, body: { result: shown(params.table!, r, query.sysparm_fields) } };
        },
      },
    ],
    options,
  );
  url = standIn.url;

  return {
    ...standIn,
    records: (table = 'incident') => (tables.get(table) ?? []).map((r) => ({ ...r })),
    journal: (sysId) => [...(journals.get(sysId) ?? [])],
    update(sysId, fields) {
      for (const [table, rows] of tables) {
        const r = rows.find((x) => x.sys_id === sysId);
        if (r) write(table, r, fields);
      }
    },
    loseCreateAnswers(count) {
      lose = count;
    },
    tokensIssued: () => tokens.size,
    reset() {
      standIn.reset();
      for (const rows of tables.values()) rows.length = 0;
      journals.clear();
      tokens.clear();
      lose = 0;
    },
  };
}
