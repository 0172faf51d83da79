import { startStandIn, type Route, type StandIn } from './stand-in';

export interface SentinelStandIn extends StandIn {
  /** Puts an incident resource (as the REST API returns it) into the workspace. */
  putIncident(incident: SentinelIncidentResource): void;
  /** Comments per incident name, as written. */
  comments: Map<string, Array<{ name: string; message: string }>>;
}

export interface SentinelIncidentResource {
  id: string;
  name: string;
  etag?: string;
  type?: string;
  properties: Record<string, unknown> & { incidentNumber: number };
}

const WORKSPACE = '/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.OperationalInsights/workspaces/:ws/providers/Microsoft.SecurityInsights';

const notFound = (what: string) => ({ status: 404, body: { error: { code: 'NotFound', message: `${what} not found` } } });

/**
 * The SecurityInsights incidents API of one workspace: list (with `$filter=properties/incidentNumber eq N`
 * and `$top`), get and create-or-update, in the CloudError shape on failure.
 */
export function createSentinelRoutes(seed: SentinelIncidentResource[] = []): {
  routes: Route[];
  putIncident: (i: SentinelIncidentResource) => void;
  comments: Map<string, Array<{ name: string; message: string }>>;
} {
  const incidents = new Map<string, SentinelIncidentResource>();
  const comments = new Map<string, Array<{ name: string; message: string }>>();
  for (const i of seed) incidents.set(i.name.toLowerCase(), i);
  const requireApiVersion = (query: Record<string, string>) =>
    query['api-version'] ? undefined : { status: 400, body: { error: { code: 'MissingApiVersionParameter', message: "The api-version query parameter (?api-version=) is required for all requests." } } };

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
        handle: ({ params, query }) => requireApiVersion(query) ?? (incidents.has(params.incidentId!.toLowerCase()) ? { status: 200, body: incidents.get(params.incidentId!.toLowerCase()) } : notFound('Incident')),
      },
      {
        method: 'PUT',
        path: `${WORKSPACE}/incidents/:incidentId`,
        handle: ({ params, query, body }) => {
          const bad = requireApiVersion(query);
          if (bad) return bad;
          const existing = incidents.get(params.incidentId!.toLowerCase());
          const b = body as { etag?: string; properties?: Record<string, unknown> } | undefined;
          if (existing && b?.etag && b.etag !== existing.etag) return { status: 412, body: { error: { code: 'PreconditionFailed', message: 'The etag does not match' } } };
          const resource: SentinelIncidentResource = {
            ...(existing ?? {
              id: `/subscriptions/${params.sub}/resourceGroups/${params.rg}/providers/Microsoft.OperationalInsights/workspaces/${params.ws}/providers/Microsoft.SecurityInsights/incidents/${params.incidentId}`,
              name: params.incidentId!,
              type: 'Microsoft.SecurityInsights/incidents',
            }),
            etag: `"${Date.now().toString(16)}"`,
            properties: { ...(existing?.properties ?? { incidentNumber: incidents.size + 1 }), ...(b?.properties ?? {}), lastModifiedTimeUtc: new Date().toISOString() } as SentinelIncidentResource['properties'],
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
        if (typeof message !== 'string' || message.length === 0 || message.length > 30_000) return { status: 400, body: { error: { code: 'BadRequest', message: 'properties.message must be a string of 1 to 30000 characters' } } };
        const list = comments.get(params.incidentId!.toLowerCase()) ?? [];
        const existing = list.find((c) => c.name === params.commentId);
        if (existing) existing.message = message;
        else list.push({ name: params.commentId!, message });
        comments.set(params.incidentId!.toLowerCase(), list);
        return {
          status: existing ? 200 : 201,
          body: { id: `${params.incidentId}/comments/${params.commentId}`, name: params.commentId, type: 'Microsoft.SecurityInsights/incidents/comments', properties: { message, createdTimeUtc: new Date().toISOString() } },
        };
      },
    },
  ];
  return { routes, putIncident: (i) => incidents.set(i.name.toLowerCase(), i), comments };
}

/** The Sentinel incidents API on a server of its own. */
export async function startSentinel(options: { port?: number; incidents?: SentinelIncidentResource[] } = {}): Promise<SentinelStandIn> {
  const { routes, putIncident, comments } = createSentinelRoutes(options.incidents);
  return { ...(await startStandIn('sentinel', routes, options)), putIncident, comments };
}
