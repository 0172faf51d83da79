import { randomUUID } from 'node:crypto';
import { startStandIn, type Reply, type Route, type StandIn } from './stand-in';

export interface SentinelStandIn extends StandIn {
  /** Puts an incident resource (as the REST API returns it) into the workspace. */
  putIncident(incident: SentinelIncidentResource): void;
  /** A copy of the incident as stored now, or undefined. */
  getIncident(name: string): SentinelIncidentResource | undefined;
  /** Comments per incident name, as written. */
  comments: Map<string, Array<{ name: string; message: string }>>;
  /** Threat-intelligence indicators by name, as the API returns them. */
  indicators: Map<string, unknown>;
}

export interface SentinelIncidentResource {
  id: string;
  name: string;
  etag?: string;
  type?: string;
  properties: Record<string, unknown> & { incidentNumber: number };
}

const WORKSPACE = '/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.OperationalInsights/workspaces/:ws/providers/Microsoft.SecurityInsights';

const SEVERITIES = ['High', 'Medium', 'Low', 'Informational'];
const STATUSES = ['New', 'Active', 'Closed'];
const CLASSIFICATIONS = ['Undetermined', 'TruePositive', 'BenignPositive', 'FalsePositive'];
const CLASSIFICATION_REASONS = ['SuspiciousActivity', 'SuspiciousButExpected', 'IncorrectAlertLogic', 'InaccurateData'];
/** STIX object types Sentinel takes as `patternType`. */
const PATTERN_TYPES = ['ipv4-addr', 'ipv6-addr', 'domain-name', 'url', 'file', 'email-addr', 'network-traffic'];

const notFound = (what: string) => ({ status: 404, body: { error: { code: 'NotFound', message: `${what} not found` } } });
const badRequest = (message: string): Reply => ({ status: 400, body: { error: { code: 'BadRequest', message } } });
const workspaceId = (p: Record<string, string>) => `/subscriptions/${p.sub}/resourceGroups/${p.rg}/providers/Microsoft.OperationalInsights/workspaces/${p.ws}/providers/Microsoft.SecurityInsights`;
const etag = () => `"${randomUUID()}"`;

/** Why Sentinel would refuse these incident properties on PUT (required title, severity, status; a closed incident's classification), or undefined. */
function incidentProblem(p: Record<string, unknown> | undefined): string | undefined {
  if (!p || typeof p !== 'object') return "The request body must contain 'properties'";
  if (typeof p.title !== 'string' || p.title.trim() === '') return "'properties.title' is required";
  if (!SEVERITIES.includes(p.severity as string)) return `'properties.severity' must be one of ${SEVERITIES.join(', ')}`;
  if (!STATUSES.includes(p.status as string)) return `'properties.status' must be one of ${STATUSES.join(', ')}`;
  if (p.classification !== undefined && !CLASSIFICATIONS.includes(p.classification as string)) return `'properties.classification' must be one of ${CLASSIFICATIONS.join(', ')}`;
  if (p.classificationReason !== undefined && !CLASSIFICATION_REASONS.includes(p.classificationReason as string)) {
    return `'properties.classificationReason' must be one of ${CLASSIFICATION_REASONS.join(', ')}`;
  }
  if (p.status === 'Closed' && p.classification === undefined) return 'A closed incident must have a classification';
  if (p.status === 'Closed' && p.classification !== 'Undetermined' && p.classificationReason === undefined) return `classification '${String(p.classification)}' must have classificationReason`;
  return undefined;
}

/** Properties only Sentinel sets: a PUT cannot change them, and one that leaves them out keeps them. */
const SERVER_SET = ['incidentNumber', 'createdTimeUtc', 'incidentUrl', 'providerName', 'providerIncidentId', 'additionalData', 'relatedAnalyticRuleIds'];

/**
 * A PUT replaces the incident: what the body says, plus the fields only the server sets. Anything
 * the client leaves out (owner, labels, description) is gone, as in Sentinel.
 */
function replacedProperties(existing: SentinelIncidentResource | undefined, sent: Record<string, unknown>, nextNumber: number): SentinelIncidentResource['properties'] {
  const now = new Date().toISOString();
  const kept: Record<string, unknown> = existing
    ? Object.fromEntries(SERVER_SET.filter((k) => existing.properties[k] !== undefined).map((k) => [k, existing.properties[k]]))
    : { incidentNumber: nextNumber, createdTimeUtc: now };
  const writable = Object.fromEntries(Object.entries(sent).filter(([k]) => !SERVER_SET.includes(k)));
  const properties: Record<string, unknown> = { ...writable, ...kept, lastModifiedTimeUtc: now };
  return properties as SentinelIncidentResource['properties'];
}

/** Why Sentinel would refuse this createIndicator body, or undefined. */
function indicatorProblem(b: { kind?: unknown; properties?: Record<string, unknown> } | undefined): string | undefined {
  if (b?.kind !== 'indicator') return "'kind' must be 'indicator'";
  const p = b.properties;
  if (!p || typeof p !== 'object') return "The request body must contain 'properties'";
  for (const field of ['pattern', 'patternType', 'source']) {
    if (typeof p[field] !== 'string' || (p[field] as string).trim() === '') return `'properties.${field}' is required`;
  }
  if (!PATTERN_TYPES.includes(p.patternType as string)) return `'properties.patternType' must be one of ${PATTERN_TYPES.join(', ')}`;
  const objectType = /^\[([a-z0-9-]+):/.exec(p.pattern as string)?.[1];
  if (!(p.pattern as string).endsWith(']') || objectType !== p.patternType) return `'properties.pattern' is not a STIX pattern on ${String(p.patternType)}`;
  return undefined;
}

/**
 * The SecurityInsights API of one workspace: incidents (list with `$filter=properties/incidentNumber eq N`
 * and `$top`, get, create-or-update — a replace, refused with 409 Conflict for a stale etag, as
 * Sentinel does — and comments) and threat-intelligence indicators (create, list, get, delete),
 * in the CloudError shape on failure.
 */
export function createSentinelRoutes(seed: SentinelIncidentResource[] = []): {
  routes: Route[];
  putIncident: (i: SentinelIncidentResource) => void;
  getIncident: (name: string) => SentinelIncidentResource | undefined;
  comments: Map<string, Array<{ name: string; message: string }>>;
  indicators: Map<string, unknown>;
} {
  const incidents = new Map<string, SentinelIncidentResource>();
  const comments = new Map<string, Array<{ name: string; message: string }>>();
  const indicators = new Map<string, unknown>();
  for (const i of seed) incidents.set(i.name.toLowerCase(), i);
  const requireApiVersion = (query: Record<string, string>) =>
    query['api-version']
      ? undefined
      : { status: 400, body: { error: { code: 'MissingApiVersionParameter', message: 'The api-version query parameter (?api-version=) is required for all requests.' } } };

  const routes: Route[] = [
    {
      method: 'GET',
      path: `${WORKSPACE}/incidents`,
      handle: ({ query }) => {
        const bad = requireApiVersion(query);
        if (bad) return bad;
        let value = [...incidents.values()].sort((a, b) => b.properties.incidentNumber - a.properties.incidentNumber);
        const filter = query.$filter;
        if (filter) {
          const m = /^properties\/incidentNumber eq (\d+)$/.exec(filter.trim());
          if (!m) return { status: 400, body: { error: { code: 'BadRequest', message: `Unsupported $filter: ${filter}` } } };
          value = value.filter((i) => i.properties.incidentNumber === Number(m[1]));
        }
        const top = Number(query.$top ?? 50);
        return { status: 200, body: { value: value.slice(0, top) } };
      },
    },
    {
      method: 'GET',
      path: `${WORKSPACE}/incidents/:incidentId`,
      handle: ({ params, query }) =>
        requireApiVersion(query) ?? (incidents.has(params.incidentId!.toLowerCase()) ? { status: 200, body: incidents.get(params.incidentId!.toLowerCase()) } : notFound('Incident')),
    },
    {
      method: 'PUT',
      path: `${WORKSPACE}/incidents/:incidentId`,
      handle: ({ params, query, body }) => {
        const bad = requireApiVersion(query);
        if (bad) return bad;
        const existing = incidents.get(params.incidentId!.toLowerCase());
        const b = body as { etag?: string; properties?: Record<string, unknown> } | undefined;
        const problem = incidentProblem(b?.properties);
        if (problem) return badRequest(problem);
        if (existing && b?.etag && b.etag !== existing.etag) {
          return { status: 409, body: { error: { code: 'Conflict', message: `Newer version of resource '${existing.name}' exists. Data was not saved` } } };
        }
        const resource: SentinelIncidentResource = {
          ...(existing ?? {
            id: `${workspaceId(params)}/incidents/${params.incidentId}`,
            name: params.incidentId!,
            type: 'Microsoft.SecurityInsights/incidents',
          }),
          etag: etag(),
          properties: replacedProperties(existing, b!.properties!, incidents.size + 1),
        };
        incidents.set(params.incidentId!.toLowerCase(), resource);
        return { status: existing ? 200 : 201, body: resource };
      },
    },
    {
      method: 'PUT',
      path: `${WORKSPACE}/incidents/:incidentId/comments/:commentId`,
      handle: ({ params, query, body }) => {
        const bad = requireApiVersion(query);
        if (bad) return bad;
        if (!incidents.has(params.incidentId!.toLowerCase())) return notFound('Incident');
        const message = (body as { properties?: { message?: unknown } } | undefined)?.properties?.message;
        if (typeof message !== 'string' || message.length === 0 || message.length > 30_000)
          return { status: 400, body: { error: { code: 'BadRequest', message: 'properties.message must be a string of 1 to 30000 characters' } } };
        const list = comments.get(params.incidentId!.toLowerCase()) ?? [];
        const existing = list.find((c) => c.name === params.commentId);
        if (existing) existing.message = message;
        else list.push({ name: params.commentId!, message });
        comments.set(params.incidentId!.toLowerCase(), list);
        return {
          status: existing ? 200 : 201,
          body: {
            id: `${params.incidentId}/comments/${params.commentId}`,
            name: params.commentId,
            type: 'Microsoft.SecurityInsights/incidents/comments',
            properties: { message, createdTimeUtc: new Date().toISOString() },
          },
        };
      },
    },
    {
      method: 'POST',
      path: `${WORKSPACE}/threatIntelligence/main/createIndicator`,
      handle: ({ params, query, body }) => {
        const bad = requireApiVersion(query);
        if (bad) return bad;
        const b = body as { kind?: unknown; properties?: Record<string, unknown> } | undefined;
        const problem = indicatorProblem(b);
        if (problem) return badRequest(problem);
        const name = randomUUID();
        const now = new Date().toISOString();
        const indicator = {
          id: `${workspaceId(params)}/ThreatIntelligence/${name}`,
          name,
          etag: etag(),
          type: 'Microsoft.SecurityInsights/ThreatIntelligence',
          kind: 'indicator',
          properties: { ...b!.properties, created: now, lastUpdatedTimeUtc: now, externalId: `indicator--${randomUUID()}`, revoked: false },
        };
        indicators.set(name, indicator);
        return { status: 200, body: indicator };
      },
    },
    {
      method: 'POST',
      path: `${WORKSPACE}/threatIntelligence/main/queryIndicators`,
      // ThreatIntelligenceFilteringCriteria: keywords (matched here in the display name, description
      // and pattern), sources, pageSize and skipToken; disabled (revoked) ones only with includeDisabled.
      handle: ({ params, query, body }) => {
        const bad = requireApiVersion(query);
        if (bad) return bad;
        const c = (body ?? {}) as { keywords?: string[]; sources?: string[]; pageSize?: number; skipToken?: string; includeDisabled?: boolean };
        const text = (i: { properties: Record<string, unknown> }) =>
          ['displayName', 'description', 'pattern']
            .map((k) => String(i.properties[k] ?? ''))
            .join(' ')
            .toLowerCase();
        const all = ([...indicators.values()] as Array<{ properties: Record<string, unknown> }>).filter(
          (i) =>
            (c.includeDisabled || !i.properties.revoked) &&
            (!c.sources?.length || c.sources.includes(String(i.properties.source))) &&
            (!c.keywords?.length || c.keywords.some((k) => text(i).includes(String(k).toLowerCase()))),
        );
        const size = Math.min(Math.max(Number(c.pageSize ?? 100), 1), 100);
        const from = Number(c.skipToken ?? 0) || 0;
        const next =
          from + size < all.length
            ? `https://management.azure.com${workspaceId(params)}/threatIntelligence/main/queryIndicators?api-version=${String(query['api-version'])}&$skipToken=${from + size}`
            : undefined;
        return { status: 200, body: { value: all.slice(from, from + size), ...(next ? { nextLink: next } : {}) } };
      },
    },
    {
      method: 'GET',
      path: `${WORKSPACE}/threatIntelligence/main/indicators`,
      handle: ({ query }) => requireApiVersion(query) ?? { status: 200, body: { value: [...indicators.values()].slice(0, Number(query.$top ?? 100)) } },
    },
    {
      method: 'GET',
      path: `${WORKSPACE}/threatIntelligence/main/indicators/:name`,
      handle: ({ params, query }) => requireApiVersion(query) ?? (indicators.has(params.name!) ? { status: 200, body: indicators.get(params.name!) } : notFound('Threat intelligence indicator')),
    },
    {
      method: 'DELETE',
      path: `${WORKSPACE}/threatIntelligence/main/indicators/:name`,
      // 200 when it deleted one, 204 when there was none: the spec lists no 404 here.
      handle: ({ params, query }) => requireApiVersion(query) ?? (indicators.delete(params.name!) ? { status: 200 } : { status: 204 }),
    },
  ];
  return {
    routes,
    putIncident: (i) => incidents.set(i.name.toLowerCase(), i),
    getIncident: (name) => {
      const found = incidents.get(name.toLowerCase());
      return found && structuredClone(found);
    },
    comments,
    indicators,
  };
}

/** The Sentinel incidents and threat-intelligence API on a server of its own. */
export async function startSentinel(options: { port?: number; incidents?: SentinelIncidentResource[] } = {}): Promise<SentinelStandIn> {
  const { routes, putIncident, getIncident, comments, indicators } = createSentinelRoutes(options.incidents);
  return { ...(await startStandIn('sentinel', routes, options)), putIncident, getIncident, comments, indicators };
}
