import type { Route, RouteRequest } from './stand-in';

type GraphIncident = Record<string, unknown> & { id: string; alerts?: unknown[]; comments?: unknown[] };

const error = (status: number, code: string, message: string) => ({
  status,
  body: { error: { code, message, innerError: { 'request-id': '00000000-0000-0000-0000-000000000000', date: new Date().toISOString() } } },
});

/** The properties `PATCH /security/incidents/{id}` takes (the update page, and the December 2024 "What's new" additions). */
const PATCHABLE = new Set(['assignedTo', 'classification', 'determination', 'status', 'customTags', 'description', 'displayName', 'resolvingComment', 'severity']);
/** Statuses a caller may set (the update page lists no `inProgress`; `awaitingAction` is Defender Experts' own). */
const SETTABLE_STATUS = ['active', 'resolved', 'redirected'];
const SEVERITIES = ['unknown', 'informational', 'low', 'medium', 'high'];

/**
 * The determinations each classification allows, from Microsoft's Defender incident API page
 * (MicrosoftDocs/defender-docs, "Possible determination values for each classification"), with
 * the Graph names the resource pages also use for the same values (compromisedAccount, notMalicious…).
 */
const DETERMINATIONS: Record<string, string[]> = {
  unknown: ['unknown'],
  truepositive: ['multistagedattack', 'malicioususeractivity', 'compromiseduser', 'compromisedaccount', 'malware', 'phishing', 'unwantedsoftware', 'apt', 'other'],
  informationalexpectedactivity: ['securitytesting', 'lineofbusinessapplication', 'confirmeduseractivity', 'confirmedactivity', 'securitypersonnel', 'other'],
  falsepositive: ['clean', 'notmalicious', 'insufficientdata', 'notenoughdatatovalidate', 'other'],
};

const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : undefined);

/** `lastUpdateDateTime ge 2026-11-30T08:00:00Z` (or gt, le, lt; `and` between them): the one kind of `$filter` Vigil sends. */
const FILTER_CLAUSE = /^(lastUpdateDateTime|createdDateTime) (ge|gt|le|lt) (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,7})?Z)$/;
const COMPARE: Record<string, (a: number, b: number) => boolean> = { ge: (a, b) => a >= b, gt: (a, b) => a > b, le: (a, b) => a <= b, lt: (a, b) => a < b };

const parseFilter = (filter: string): ((i: GraphIncident) => boolean) | undefined => {
  const tests: Array<(i: GraphIncident) => boolean> = [];
  for (const clause of filter.trim().split(/\s+and\s+/)) {
    const m = FILTER_CLAUSE.exec(clause.trim());
    if (!m) return undefined;
    const at = Date.parse(m[3]!);
    tests.push((i) => COMPARE[m[2]!]!(Date.parse(String(i[m[1]!])), at));
  }
  return (i) => tests.every((t) => t(i));
};

/**
 * Microsoft Graph v1.0 security incidents, served beside the Graph stand-in's users on the same
 * endpoint: list with `$filter` on times, `$expand=alerts`, `$top`, `$skip`, `$count` and paging by
 * `@odata.nextLink`; get; PATCH with Graph's checks (only updatable properties, settable statuses,
 * each classification's determinations, severities); comments, answered with every comment of the
 * incident as published. Lists are in id order, not time order: Graph documents no `$orderby` here,
 * so a caller must read every page before it trusts what it has seen.
 */
export function createGraphSecurityRoutes(seed: Array<Record<string, unknown>> = [], options: { pageSize?: number } = {}) {
  const incidents = new Map<string, GraphIncident>();
  const pageSize = options.pageSize ?? 50;
  const put = (i: Record<string, unknown>) => incidents.set(String(i.id), structuredClone(i) as GraphIncident);
  for (const i of seed) put(i);
  const touch = (i: GraphIncident) => (i.lastUpdateDateTime = new Date().toISOString().replace('Z', '0000Z'));
  const shown = (i: GraphIncident, query: Record<string, string>) => {
    const { alerts, ...rest } = structuredClone(i);
    return lower(query.$expand) === 'alerts' ? { ...rest, alerts: alerts ?? [] } : rest;
  };
  const missing = (id: string) => error(404, 'NotFound', `Incident ${id} was not found.`);
  const origin = (req: RouteRequest) => `${req.headers['x-forwarded-proto'] ?? 'http'}://${req.headers['x-forwarded-host'] ?? req.headers.host}`;

  const checkPatch = (current: GraphIncident, body: unknown) => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return error(400, 'BadRequest', 'The request body must be a JSON object.');
    const b = body as Record<string, unknown>;
    for (const k of Object.keys(b)) {
      if (k.startsWith('@odata.')) continue;
      if (!PATCHABLE.has(k)) return error(400, 'BadRequest', `The property '${k}' does not exist on type 'microsoft.graph.security.incident' or cannot be updated.`);
    }
    if ('status' in b && !SETTABLE_STATUS.includes(lower(b.status) ?? '')) return error(400, 'BadRequest', `Invalid value '${String(b.status)}' for property 'status'.`);
    if ('severity' in b && !SEVERITIES.includes(lower(b.severity) ?? '')) return error(400, 'BadRequest', `Invalid value '${String(b.severity)}' for property 'severity'.`);
    if ('assignedTo' in b && b.assignedTo !== null && typeof b.assignedTo !== 'string') return error(400, 'BadRequest', "Invalid value for property 'assignedTo'.");
    if ('customTags' in b && (!Array.isArray(b.customTags) || !b.customTags.every((t) => typeof t === 'string'))) return error(400, 'BadRequest', "Invalid value for property 'customTags'.");
    const classification = lower(b.classification ?? current.classification) ?? 'unknown';
    const determination = lower(b.determination ?? current.determination) ?? 'unknown';
    const allowed = DETERMINATIONS[classification];
    if (!allowed) return error(400, 'BadRequest', `Invalid value '${String(b.classification)}' for property 'classification'.`);
    if (('classification' in b || 'determination' in b) && !allowed.includes(determination)) {
      return error(400, 'BadRequest', `Determination '${String(b.determination ?? current.determination)}' is not valid for classification '${String(b.classification ?? current.classification)}'.`);
    }
    return undefined;
  };

  const routes: Route[] = [
    {
      method: 'GET',
      path: '/v1.0/security/incidents',
      handle: (req) => {
        const { query } = req;
        let found = [...incidents.values()].sort((a, b) => Number(a.id) - Number(b.id));
        if (query.$filter) {
          const test = parseFilter(query.$filter);
          if (!test) return error(400, 'BadRequest', `Invalid filter clause: '${query.$filter}'.`);
          found = found.filter(test);
        }
        const top = query.$top === undefined ? pageSize : Number(query.$top);
        const skip = Number(query.$skip ?? 0);
        if (!Number.isInteger(top) || top < 1 || !Number.isInteger(skip) || skip < 0) return error(400, 'BadRequest', 'Invalid $top or $skip.');
        // As elsewhere in Graph, `$top` is the page size (up to the service's own) and the next page is a link.
        const take = Math.min(top, pageSize);
        const page = found.slice(skip, skip + take);
        const next = new URL(`${origin(req)}/v1.0/security/incidents`);
        for (const [k, v] of Object.entries(query)) if (k !== '$skip') next.searchParams.set(k, v);
        next.searchParams.set('$skip', String(skip + take));
        return {
          status: 200,
          body: {
            '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#security/incidents',
            ...(lower(query.$count) === 'true' ? { '@odata.count': found.length } : {}),
            value: page.map((i) => shown(i, query)),
            ...(skip + take < found.length ? { '@odata.nextLink': next.toString() } : {}),
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1.0/security/incidents/:id',
      handle: ({ params, query }) => {
        const i = incidents.get(params.id!);
        return i ? { status: 200, body: { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#security/incidents/$entity', ...shown(i, query) } } : missing(params.id!);
      },
    },
    {
      method: 'PATCH',
      path: '/v1.0/security/incidents/:id',
      handle: ({ params, body }) => {
        const i = incidents.get(params.id!);
        if (!i) return missing(params.id!);
        const refused = checkPatch(i, body);
        if (refused) return refused;
        for (const [k, v] of Object.entries(body as Record<string, unknown>)) if (!k.startsWith('@odata.')) i[k] = v;
        touch(i);
        return { status: 200, body: { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#security/incidents/$entity', ...shown(i, {}) } };
      },
    },
    {
      method: 'POST',
      path: '/v1.0/security/incidents/:id/comments',
      handle: ({ params, body }) => {
        const i = incidents.get(params.id!);
        if (!i) return missing(params.id!);
        const comment = (body as { comment?: unknown } | undefined)?.comment;
        if (typeof comment !== 'string' || comment.trim() === '') return error(400, 'BadRequest', "The property 'comment' is required.");
        const list = (i.comments ??= []) as Array<Record<string, unknown>>;
        list.push({ comment, createdByDisplayName: 'Vigil', createdDateTime: new Date().toISOString() });
        touch(i);
        return { status: 200, body: { '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#security/incidents('${i.id}')/comments`, value: structuredClone(list) } };
      },
    },
  ];

  return {
    routes,
    /** Adds or replaces an incident (with its alerts), as Defender would after a change. */
    putIncident: put,
    getIncident: (id: string) => incidents.get(id),
    /** Forgets every incident (tests start from none). */
    clear: () => incidents.clear(),
    /** The comments on an incident, oldest first. */
    comments: (id: string) => (incidents.get(id)?.comments ?? []) as Array<{ comment: string; createdByDisplayName: string; createdDateTime: string }>,
  };
}

export type GraphSecurityRoutes = ReturnType<typeof createGraphSecurityRoutes>;
