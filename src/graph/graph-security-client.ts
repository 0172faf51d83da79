import { AppError } from '../errors';
import { GRAPH, type GraphClient } from './graph-client';
import { UpstreamError } from '../http/upstream-error';

/** Graph's own words (camelCase enums) for what Vigil sets on an incident. */
export interface GraphIncidentChange {
  status?: 'active' | 'resolved';
  classification?: 'unknown' | 'truePositive' | 'falsePositive' | 'informationalExpectedActivity';
  determination?: string;
  assignedTo?: string;
  /** Custom tags added to those the incident has (case-insensitively once). */
  addTags?: string[];
  /**
   * Run on the incident as just read, before anything is written: a reason refuses the write
   * (AppError BAD_REQUEST with that reason). How a caller refuses to overwrite what someone changed
   * in Defender after the card it clicked was drawn.
   */
  unless?: (current: Record<string, unknown>) => string | undefined;
}

const INCIDENT_ID = /^[1-9]\d{0,14}$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Pages read in one poll at most: a runaway `@odata.nextLink` chain ends here and the next poll goes on. */
const MAX_PAGES = 500;
const MAX_TAG = 128;
const MAX_COMMENT = 30_000;

export interface GraphSecurityClient {
  /**
   * Every incident (with its alerts) updated at or after `since`, page by page as Graph gives
   * them, following `@odata.nextLink` to the end. Throws `UpstreamError` when a page fails.
   */
  incidentsUpdatedSince(since: Date, pageSize: number): AsyncGenerator<unknown[]>;
  /** The incident as Graph has it now (raw), or undefined for 404. */
  getIncident(id: string, withAlerts?: boolean): Promise<unknown | undefined>;
  /**
   * Reads the incident afresh, then PATCHes only the properties `change` sets (Graph keeps the
   * rest), so an edit made in Defender meanwhile to anything else survives. Refuses (AppError
   * BAD_REQUEST, nothing written) an incident merged into another, and closing one already
   * resolved: the card was drawn before that happened. Tags are merged into the list just read.
   * Returns the incident as Graph answered the PATCH (raw, without alerts).
   */
  updateIncident(id: string, change: GraphIncidentChange): Promise<unknown>;
  /** Adds a comment. Not idempotent (Graph names no comment id), so never retried here: a retry could post it twice. */
  addComment(id: string, comment: string): Promise<void>;
}

const checkedId = (id: string) => {
  if (!INCIDENT_ID.test(id)) throw new AppError('BAD_REQUEST', 'not a Defender incident id');
  return id;
};

const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : '');

/** Microsoft Graph security incidents (`/security/incidents`) through the one Graph client. */
export function createGraphSecurityClient(o: { graph: GraphClient }): GraphSecurityClient {
  const current = async (id: string) => {
    const res = await o.graph.request<Record<string, unknown>>({ path: `/security/incidents/${checkedId(id)}`, accept: [404] });
    if (res.status === 404 || !res.body) throw new UpstreamError(GRAPH, 404, `${GRAPH} has no incident ${id}`, { code: 'NotFound' });
    return res.body;
  };
  return {
    async *incidentsUpdatedSince(since, pageSize) {
      // Graph documents no $orderby here, so the caller reads every page before it trusts the set.
      let next: string | undefined = `/security/incidents?$filter=${encodeURIComponent(`lastUpdateDateTime ge ${since.toISOString()}`)}&$expand=alerts&$top=${Math.trunc(pageSize)}`;
      for (let page = 0; next && page < MAX_PAGES; page++) {
        const res: { body: { value?: unknown; '@odata.nextLink'?: unknown } | undefined } = await o.graph.request({ path: next });
        const value = res.body?.value;
        if (!Array.isArray(value)) throw new UpstreamError(GRAPH, 502, `${GRAPH} answered the incident list without a value array`);
        yield value;
        const link = res.body?.['@odata.nextLink'];
        // The HTTP layer refuses a link off Graph's origin (it would carry the token elsewhere).
        next = typeof link === 'string' && link !== '' ? link : undefined;
      }
    },
    async getIncident(id, withAlerts = false) {
      const res = await o.graph.request<unknown>({ path: `/security/incidents/${checkedId(id)}${withAlerts ? '?$expand=alerts' : ''}`, accept: [404] });
      return res.status === 404 ? undefined : res.body;
    },
    async updateIncident(id, change) {
      const now = await current(id);
      if (lower(now.status) === 'redirected') {
        const to = typeof now.redirectIncidentId === 'string' ? ` into incident ${now.redirectIncidentId.slice(0, 20)}` : '';
        throw new AppError('BAD_REQUEST', `Defender merged this incident${to}; act on that one`);
      }
      if (change.status === 'resolved' && lower(now.status) === 'resolved') throw new AppError('BAD_REQUEST', 'the incident is already resolved in Defender');
      const refusal = change.unless?.(now);
      if (refusal) throw new AppError('BAD_REQUEST', refusal);
      const body: Record<string, unknown> = {};
      if (change.status) body.status = change.status;
      if (change.classification) body.classification = change.classification;
      if (change.determination) body.determination = change.determination;
      if (change.assignedTo !== undefined) body.assignedTo = change.assignedTo;
      if (change.addTags?.length) {
        const tags = Array.isArray(now.customTags) ? now.customTags.filter((t): t is string => typeof t === 'string') : [];
        const known = new Set(tags.map((t) => t.toLowerCase()));
        for (const raw of change.addTags) {
          const tag = raw.trim().slice(0, MAX_TAG);
          if (tag === '' || CONTROL.test(tag) || known.has(tag.toLowerCase())) continue;
          known.add(tag.toLowerCase());
          tags.push(tag);
        }
        body.customTags = tags;
      }
      const res = await o.graph.request<unknown>({ method: 'PATCH', path: `/security/incidents/${checkedId(id)}`, body });
      return res.body;
    },
    async addComment(id, comment) {
      await o.graph.request({
        method: 'POST',
        path: `/security/incidents/${checkedId(id)}/comments`,
        body: { '@odata.type': 'microsoft.graph.security.alertComment', comment: comment.slice(0, MAX_COMMENT) },
        retry: { maxAttempts: 1 },
      });
    },
  };
}
