import { createHash } from 'node:crypto';
import type { SentinelIncidentResource } from './sentinel';
import { startStandIn, type StandIn } from './stand-in';
import { MALICIOUS_IP } from './threat-intel-data';

interface Column {
  name: string;
  type: string;
}

/** Every `@'…'` literal in a query, decoded (`''` → `'`): what the query really asked about. */
export const kqlLiterals = (query: string): string[] => [...query.matchAll(/@'((?:[^']|'')*)'/g)].map((m) => m[1]!.replace(/''/g, "'"));

const table = (columns: Column[], rows: unknown[][]) => ({ tables: [{ name: 'PrimaryResult', columns, rows }] });

const badArgument = (message: string) => ({
  status: 400,
  body: {
    error: { message: 'The request had some invalid properties', code: 'BadArgumentError', correlationId: '00000000-0000-0000-0000-000000000000', innererror: { code: 'SemanticError', message } },
  },
});

const SIGNINS: Record<string, [number, number, string[]]> = {
  'admin.jane@contoso.example': [41, 37, ['NL', 'US']],
  'bob.risky@contoso.example': [3, 0, ['BR']],
};

const SAMPLE_SIGNINS = [
  ['2026-11-24T01:10:00Z', 'admin.jane@contoso.example', MALICIOUS_IP, '50126', 'NL'],
  ['2026-11-24T01:11:30Z', 'admin.jane@contoso.example', MALICIOUS_IP, '0', 'NL'],
  ['2026-11-24T01:31:00Z', 'bob.risky@contoso.example', '198.51.100.10', '0', 'BR'],
];

/** The sandbox's workspace id (SENTINEL_WORKSPACE_ID's default): where rows go unless a test names another workspace. */
export const SANDBOX_WORKSPACE_ID = '00000000-0000-0000-0000-000000000001';

export interface LogAnalyticsStandIn extends StandIn {
  /**
   * Appends a SecurityIncident row as the table holds it (columns by name; a dynamic column's value
   * is sent as JSON unless it is already text), ingested at `ingestedAt` (now by default), in
   * workspace `workspaceId` (the sandbox's by default). Nothing is checked: tests put malformed rows in this way.
   */
  addSecurityIncidentRow(row: Record<string, unknown>, ingestedAt?: Date, workspaceId?: string): void;
  addSecurityAlertRow(row: Record<string, unknown>, ingestedAt?: Date, workspaceId?: string): void;
  /**
   * Logs an incident resource (REST shape, or its trigger envelope) the way Sentinel does: one
   * SecurityIncident row, and one SecurityAlert row carrying the incident's entities, whose id is
   * the same for every version of the incident. Each workspace has its own tables: a query to
   * `/v1/workspaces/{id}/query` reads only the rows logged in workspace `id`.
   */
  ingestIncident(incident: SentinelIncidentResource | { object: SentinelIncidentResource }, ingestedAt?: Date, workspaceId?: string): void;
  /** Also empties the tables back to what they were seeded with. */
  reset(): void;
}

interface Ingested {
  /** ingestion_time() as Log Analytics writes it: seven fractional digits, so text order is time order. */
  ingestedAt: string;
  /** The workspace whose table holds the row (lower-cased). */
  workspaceId: string;
  row: Record<string, unknown>;
}

const INCIDENT_COLUMNS: Column[] = [
  ['TimeGenerated', 'datetime'],
  ['IncidentName', 'string'],
  ['IncidentNumber', 'int'],
  ['Title', 'string'],
  ['Description', 'string'],
  ['Severity', 'string'],
  ['Status', 'string'],
  ['Classification', 'string'],
  ['Owner', 'dynamic'],
  ['Labels', 'dynamic'],
  ['CreatedTime', 'datetime'],
  ['LastModifiedTime', 'datetime'],
  ['FirstActivityTime', 'datetime'],
  ['LastActivityTime', 'datetime'],
  ['AdditionalData', 'dynamic'],
  ['RelatedAnalyticRuleIds', 'dynamic'],
  ['AlertIds', 'dynamic'],
  ['IncidentUrl', 'string'],
  ['ProviderName', 'string'],
  ['ProviderIncidentId', 'string'],
  ['IngestedAt', 'string'],
].map(([name, type]) => ({ name: name!, type: type! }));

// SecurityAlert keeps entities, tactics and techniques as text (JSON, or a comma-separated list).
const ALERT_COLUMNS: Column[] = [
  ['TimeGenerated', 'datetime'],
  ['SystemAlertId', 'string'],
  ['ProductName', 'string'],
  ['Tactics', 'string'],
  ['Techniques', 'string'],
  ['Entities', 'string'],
].map(([name, type]) => ({ name: name!, type: type! }));

/** `2026-11-24T01:12:05.1230000Z`: any ISO time in ingestion_time()'s text form. */
export const ingestionTimeText = (t: Date | string): string => {
  const iso = typeof t === 'string' ? t : t.toISOString();
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/.exec(iso);
  if (!m) throw new Error(`not a UTC time: ${iso}`);
  return `${m[1]}.${(m[2] ?? '').slice(0, 7).padEnd(7, '0')}Z`;
};

const cell = (value: unknown, type: string): unknown => {
  if (value === undefined || value === null) return type === 'string' ? '' : null;
  if (value instanceof Date) return value.toISOString();
  if (type === 'dynamic' && typeof value !== 'string') return JSON.stringify(value);
  return value;
};

const answer = (columns: Column[], items: Ingested[]) =>
  table(
    columns,
    items.map((i) => columns.map((c) => cell(c.name === 'IngestedAt' ? i.ingestedAt : i.row[c.name], c.type))),
  );

/** The latest row (by `by`, then by ingestion) of each `key`. */
const argMax = (items: Ingested[], key: string, by: (i: Ingested) => number): Ingested[] => {
  const best = new Map<string, Ingested>();
  for (const i of items) {
    const k = String(i.row[key]);
    const held = best.get(k);
    if (!held || by(i) > by(held) || (by(i) === by(held) && i.ingestedAt >= held.ingestedAt)) best.set(k, i);
  }
  return [...best.values()];
};

const timeOf = (v: unknown) => (v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : Number.NaN);

/**
 * The poller's query, evaluated for its shape: rows ingested after the first `IngestedAt >`
 * bound, the latest of each incident, after the page key (a second bound and the name literal),
 * in ingestion order, `take` of them. Rows "ingested" in the future are not visible yet.
 */
const securityIncidentPage = (query: string, rows: Ingested[]) => {
  const bounds = [...query.matchAll(/IngestedAt > datetime\(([^)]+)\)/g)].map((m) => ingestionTimeText(m[1]!));
  const [from, after] = bounds;
  const afterName = after !== undefined ? kqlLiterals(query)[0] : undefined;
  const take = Number(/\|\s*take\s+(\d+)/.exec(query)?.[1] ?? 1000);
  const now = ingestionTimeText(new Date());
  const visible = rows.filter((r) => r.ingestedAt <= now && (from === undefined || r.ingestedAt > from));
  const latest = argMax(visible, 'IncidentName', (i) => timeOf(i.row.LastModifiedTime))
    .filter((r) => after === undefined || r.ingestedAt > after || (r.ingestedAt === after && afterName !== undefined && String(r.row.IncidentName) > afterName))
    .sort((a, b) => (a.ingestedAt === b.ingestedAt ? (String(a.row.IncidentName) < String(b.row.IncidentName) ? -1 : 1) : a.ingestedAt < b.ingestedAt ? -1 : 1));
  return answer(INCIDENT_COLUMNS, latest.slice(0, take));
};

const securityAlerts = (query: string, rows: Ingested[]) => {
  const ids = new Set(kqlLiterals(query).map((id) => id.toLowerCase()));
  const now = ingestionTimeText(new Date());
  const wanted = rows.filter((r) => r.ingestedAt <= now && ids.has(String(r.row.SystemAlertId).toLowerCase()));
  return answer(
    ALERT_COLUMNS,
    argMax(wanted, 'SystemAlertId', (i) => timeOf(i.row.TimeGenerated)),
  );
};

/** The alert schema's entity kinds for the SecurityInsights ones. */
const ALERT_ENTITY_TYPES: Record<string, string> = { dnsresolution: 'dns', cloudapplication: 'cloud-application', azureresource: 'azure-resource' };
/** Where the alert schema names a property differently (others are the same name, capitalised). */
const ALERT_PROPERTY_NAMES: Record<string, string> = { accountName: 'Name', hashValue: 'Value', upnSuffix: 'UPNSuffix', ntDomain: 'NTDomain' };

/** A SecurityInsights entity (`kind`, camelCase `properties`) as SecurityAlert's `Entities` holds it. */
const alertEntity = (entity: unknown, index: number): Record<string, unknown> => {
  const e = entity as { kind?: string; properties?: Record<string, unknown> };
  const kind = String(e.kind ?? '').toLowerCase();
  const out: Record<string, unknown> = { $id: String(index + 2), Type: ALERT_ENTITY_TYPES[kind] ?? kind };
  for (const [k, v] of Object.entries(e.properties ?? {})) {
    if (k === 'friendlyName') continue;
    out[ALERT_PROPERTY_NAMES[k] ?? k[0]!.toUpperCase() + k.slice(1)] = v;
  }
  return out;
};

/** A stable GUID-shaped id from a name: every version of an incident has the same alert. */
const guidFrom = (name: string) => {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/** The SecurityIncident and SecurityAlert rows Sentinel writes for this version of an incident. */
const rowsFor = (incident: SentinelIncidentResource) => {
  const p = incident.properties as Record<string, any>;
  const alertId = guidFrom(`alert:${incident.name}`);
  const extra = (p.additionalData ?? {}) as { alertProductNames?: string[]; tactics?: string[]; techniques?: string[] };
  const securityIncident = {
    IncidentName: incident.name,
    IncidentNumber: p.incidentNumber,
    Title: p.title,
    Description: p.description ?? '',
    Severity: p.severity,
    Status: p.status,
    Classification: p.classification ?? '',
    Owner: p.owner ?? { objectId: null, email: null, assignedTo: null, userPrincipalName: null },
    Labels: p.labels ?? [],
    CreatedTime: p.createdTimeUtc,
    LastModifiedTime: p.lastModifiedTimeUtc ?? p.createdTimeUtc,
    FirstActivityTime: p.firstActivityTimeUtc,
    LastActivityTime: p.lastActivityTimeUtc,
    AdditionalData: p.additionalData ?? {},
    RelatedAnalyticRuleIds: p.relatedAnalyticRuleIds ?? [],
    AlertIds: [alertId],
    IncidentUrl: p.incidentUrl ?? '',
    ProviderName: p.providerName ?? 'Azure Sentinel',
    ProviderIncidentId: p.providerIncidentId ?? String(p.incidentNumber),
  };
  const securityAlert = {
    SystemAlertId: alertId,
    ProductName: extra.alertProductNames?.[0] ?? 'Azure Sentinel',
    Tactics: (extra.tactics ?? []).join(', '),
    Techniques: JSON.stringify(extra.techniques ?? []),
    Entities: JSON.stringify(((p.relatedEntities ?? []) as unknown[]).map(alertEntity)),
  };
  return { securityIncident, securityAlert };
};

/**
 * Log Analytics' query API (`POST /v1/workspaces/{id}/query`). It does not evaluate KQL: it knows
 * Vigil's named queries and the SecurityIncident poller's queries by shape, answering the latter
 * from its SecurityIncident and SecurityAlert rows (seeded from `incidents`, each ingested when it
 * was last modified, as the table would hold them); it answers `<Table> | …` with sample rows for
 * known tables, and refuses anything else the way the service does. `POST /_sandbox/incidents`
 * (an incident or its trigger envelope; `?workspaceId=` another workspace's) logs an incident now, for `npm run dev`.
 */
export async function startLogAnalytics(
  options: { port?: number; incidents?: SentinelIncidentResource[]; workspaceIncidents?: Array<{ workspaceId: string; incident: SentinelIncidentResource }> } = {},
): Promise<LogAnalyticsStandIn> {
  let incidentRows: Ingested[] = [];
  let alertRows: Ingested[] = [];
  const ingested = (row: Record<string, unknown>, ingestedAt: Date, workspaceId: string): Ingested => ({
    ingestedAt: ingestionTimeText(ingestedAt),
    workspaceId: workspaceId.toLowerCase(),
    row: { TimeGenerated: ingestedAt, ...row },
  });
  const addSecurityIncidentRow = (row: Record<string, unknown>, ingestedAt = new Date(), workspaceId = SANDBOX_WORKSPACE_ID) => {
    incidentRows.push(ingested(row, ingestedAt, workspaceId));
  };
  const addSecurityAlertRow = (row: Record<string, unknown>, ingestedAt = new Date(), workspaceId = SANDBOX_WORKSPACE_ID) => {
    alertRows.push(ingested(row, ingestedAt, workspaceId));
  };
  const ingestIncident = (given: SentinelIncidentResource | { object: SentinelIncidentResource }, ingestedAt = new Date(), workspaceId = SANDBOX_WORKSPACE_ID) => {
    const incident = 'object' in given ? given.object : given;
    const { securityIncident, securityAlert } = rowsFor(incident);
    addSecurityAlertRow(securityAlert, ingestedAt, workspaceId);
    addSecurityIncidentRow(securityIncident, ingestedAt, workspaceId);
  };
  const seed = () => {
    incidentRows = [];
    alertRows = [];
    const seeded = [...(options.incidents ?? []).map((incident) => ({ workspaceId: SANDBOX_WORKSPACE_ID, incident })), ...(options.workspaceIncidents ?? [])];
    for (const { workspaceId, incident } of seeded) {
      const p = incident.properties as { lastModifiedTimeUtc?: string; createdTimeUtc?: string };
      ingestIncident(incident, new Date(p.lastModifiedTimeUtc ?? p.createdTimeUtc ?? Date.now()), workspaceId);
    }
  };
  const inWorkspace = (rows: Ingested[], workspaceId: string) => rows.filter((r) => r.workspaceId === workspaceId.toLowerCase());
  seed();
  const standIn = await startStandIn(
    'loganalytics',
    [
      {
        method: 'POST',
        path: '/_sandbox/incidents',
        handle: ({ body, query }) => {
          const given = body as SentinelIncidentResource | { object: SentinelIncidentResource } | undefined;
          const incident = given && 'object' in given ? given.object : given;
          if (!incident?.name || typeof incident.properties !== 'object')
            return { status: 400, body: { error: { code: 'BadRequest', message: 'expected a Sentinel incident (or its trigger envelope)' } } };
          ingestIncident(incident, new Date(), typeof query.workspaceId === 'string' ? query.workspaceId : undefined);
          return { status: 202, body: { ingested: incident.name } };
        },
      },
      {
        method: 'POST',
        path: '/v1/workspaces/:workspaceId/query',
        handle: ({ body, params }) => {
          const query = String((body as { query?: unknown } | undefined)?.query ?? '');
          if (query.trim() === '') return badArgument("Query could not be parsed at '' on line [1,0]");
          const source = /^\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(query)?.[1];
          const workspaceId = String(params.workspaceId);
          if (source === 'SecurityIncident' && query.includes('ingestion_time()')) return { status: 200, body: securityIncidentPage(query, inWorkspace(incidentRows, workspaceId)) };
          if (source === 'SecurityAlert' && query.includes('SystemAlertId in (')) return { status: 200, body: securityAlerts(query, inWorkspace(alertRows, workspaceId)) };
          const [entity = ''] = kqlLiterals(query);
          if (query.includes('UserPrincipalName =~')) {
            const [n, failed, countries] = SIGNINS[entity.toLowerCase()] ?? [0, 0, []];
            return {
              status: 200,
              body: table(
                [
                  { name: 'SignIns24h', type: 'long' },
                  { name: 'Failed24h', type: 'long' },
                  { name: 'Countries', type: 'dynamic' },
                ],
                [[n, failed, countries]],
              ),
            };
          }
          if (query.includes('IPAddress ==')) {
            const hits = SAMPLE_SIGNINS.filter((r) => r[2] === entity);
            return {
              status: 200,
              body: table(
                [
                  { name: 'SignIns24h', type: 'long' },
                  { name: 'Accounts', type: 'long' },
                  { name: 'Failed24h', type: 'long' },
                ],
                [[hits.length, new Set(hits.map((r) => r[1])).size, hits.filter((r) => r[3] !== '0').length]],
              ),
            };
          }
          if (query.includes('Entities has')) {
            const related = entity === MALICIOUS_IP ? [[2, [1038, 1041]]] : [[0, []]];
            return {
              status: 200,
              body: table(
                [
                  { name: 'RelatedIncidents7d', type: 'long' },
                  { name: 'Incidents', type: 'dynamic' },
                ],
                related,
              ),
            };
          }
          const first = /^\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(query)?.[1];
          if (first === 'SigninLogs') {
            const take = Number(/\|\s*(?:take|limit)\s+(\d+)/.exec(query)?.[1] ?? SAMPLE_SIGNINS.length);
            return {
              status: 200,
              body: table(
                [
                  { name: 'TimeGenerated', type: 'datetime' },
                  { name: 'UserPrincipalName', type: 'string' },
                  { name: 'IPAddress', type: 'string' },
                  { name: 'ResultType', type: 'string' },
                  { name: 'Location', type: 'string' },
                ],
                SAMPLE_SIGNINS.slice(0, take),
              ),
            };
          }
          return badArgument(`'where' operator: Failed to resolve table or column expression named '${first ?? query.slice(0, 40)}'`);
        },
      },
    ],
    { port: options.port },
  );
  return {
    ...standIn,
    addSecurityIncidentRow,
    addSecurityAlertRow,
    ingestIncident,
    reset() {
      standIn.reset();
      seed();
    },
  };
}
