import { domainToASCII } from 'node:url';
import ipaddr from 'ipaddr.js';
import type { TokenCredential } from '@azure/identity';
import { AppError } from '../errors';
import { bearerFrom } from '../http/bearer';
import { answerError, createHttpClient, type HttpResponse } from '../http/http-client';
import { isUpstreamError, UpstreamError } from '../http/upstream-error';
import { isGuid } from '../ids';

/** Incidents, comments and threat-intelligence indicators: all confirmed in the 2025-09-01 stable spec. */
export const SENTINEL_API_VERSION = '2025-09-01';

const UPSTREAM = 'Microsoft Sentinel';
const NAME = /^[\w-]{1,128}$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const MAX_LABEL = 128;
const MAX_INDICATOR = 2048;
const ETAG_RETRIES = 5;
/** Sentinel answers a stale etag with 409 "Newer version of resource … exists"; 412 is the HTTP way to say the same. */
const STALE_ETAG = new Set([409, 412]);

export type IncidentClassification = 'Undetermined' | 'TruePositive' | 'BenignPositive' | 'FalsePositive';
export type IncidentClassificationReason = 'SuspiciousActivity' | 'SuspiciousButExpected' | 'IncorrectAlertLogic' | 'InaccurateData';

export interface IncidentChange {
  owner?: { objectId: string; assignedTo?: string; userPrincipalName?: string };
  status?: 'New' | 'Active' | 'Closed';
  classification?: IncidentClassification;
  classificationReason?: IncidentClassificationReason;
  classificationComment?: string;
  addLabels?: string[];
}

export interface ThreatIndicatorRequest {
  value: string;
  type: 'ip' | 'domain' | 'url' | 'hash';
  description: string;
  labels?: string[];
  validFrom?: Date;
}

export interface SentinelClientOptions {
  armEndpoint: string;
  subscriptionId: string;
  resourceGroup: string;
  workspaceName: string;
  timeoutMs: number;
  credential?: TokenCredential;
}

export interface SentinelClient {
  /** The incident resource (raw, to be parsed by `parseIncident`), or undefined if there is none. */
  findIncidentByNumber(number: number): Promise<unknown | undefined>;
  /**
   * Writes a comment on the incident. `commentId` makes it idempotent: writing the same id again
   * replaces the comment instead of adding a second one (a retried write-back after a crash).
   */
  addComment(incidentArmId: string, commentId: string, message: string): Promise<void>;
  /**
   * Reads the incident, merges `change` into it and writes it back with its etag, so that an
   * analyst's edit made meanwhile is never overwritten: on a stale etag (409 Conflict, as Sentinel
   * answers it, or 412) it reads again and retries (up to 5 times). The whole incident is sent, as
   * read, because the PUT replaces it. Idempotent: applying the same change twice leaves the
   * incident as once (labels are not duplicated). Returns the incident as Sentinel answered the write (raw, for `parseIncident`).
   * Throws `AppError('BAD_REQUEST')` before any call for an invalid change (closing without a
   * classification, a reason that does not fit it), `UpstreamError` when Sentinel fails or does not answer.
   */
  updateIncident(incidentArmId: string, change: IncidentChange): Promise<unknown>;
  /**
   * Submits a STIX indicator (source "Vigil") to the workspace's threat intelligence and returns its
   * name. Not idempotent: every call creates a new indicator, so a retry after a timeout may leave
   * a duplicate (label it and look first: `findThreatIndicators`). Throws `AppError('BAD_REQUEST')` before any call for a value that is not of its
   * type, `UpstreamError` when Sentinel fails or does not answer. This and the next two throw
   * `RunAborted` once `signal` fires (the action worker lost the action), aborting the call.
   */
  createThreatIndicator(i: ThreatIndicatorRequest, signal?: AbortSignal): Promise<{ name: string }>;
  /**
   * Names of Vigil's indicators (source "Vigil") that carry `label`, found through
   * `queryIndicators` by `keyword` (a word of the description) and then checked by label, so a
   * keyword that matches too much does no harm. How a retried submission finds the indicator an
   * earlier, interrupted attempt created, and how an Undo finds every copy.
   */
  findThreatIndicators(label: string, keyword: string, signal?: AbortSignal): Promise<string[]>;
  /**
   * Deletes an indicator by name; idempotent. The API answers 200 when it deleted the indicator
   * and 204 when there was none (ARM's convention), so `removed` is false for 204 (and a 404).
   * Throws `AppError('BAD_REQUEST')` for a malformed name, `UpstreamError` when Sentinel fails.
   */
  deleteThreatIndicator(name: string, signal?: AbortSignal): Promise<{ removed: boolean }>;
}

/**
 * The reasons the portal pairs with each classification. The spec makes none required, but Sentinel
 * answers 400 "classification 'BenignPositive' must have classificationReason", so each one but
 * Undetermined is sent with its reason (the only one there is, or the caller's choice for FalsePositive).
 */
const REASONS: Record<IncidentClassification, readonly IncidentClassificationReason[]> = {
  Undetermined: [],
  TruePositive: ['SuspiciousActivity'],
  BenignPositive: ['SuspiciousButExpected'],
  FalsePositive: ['IncorrectAlertLogic', 'InaccurateData'],
};
const STATUSES = ['New', 'Active', 'Closed'] as const;

const badRequest = (message: string) => new AppError('BAD_REQUEST', message);

const incidentNameOf = (incidentArmId: string) => {
  const name = incidentArmId.split('/').pop() ?? '';
  if (!NAME.test(name)) throw badRequest('not a Sentinel incident id');
  return name;
};

const cleanLabels = (labels: string[]) => [...new Set(labels.map((l) => l.trim().slice(0, MAX_LABEL)).filter((l) => l !== '' && !CONTROL.test(l)))];

/** The properties to set, checked before anything is sent. */
function propertiesFor(change: IncidentChange): Record<string, unknown> {
  const set: Record<string, unknown> = {};
  if (change.status !== undefined) {
    if (!STATUSES.includes(change.status)) throw badRequest(`status must be one of ${STATUSES.join(', ')}`);
    set.status = change.status;
  }
  const classifying = change.classification ?? change.classificationReason ?? change.classificationComment;
  if (change.status === 'Closed' && change.classification === undefined) {
    throw badRequest('closing an incident needs a classification: Undetermined, TruePositive, BenignPositive or FalsePositive');
  }
  if (classifying !== undefined && change.status !== 'Closed') throw badRequest('a classification is set only when closing the incident (status Closed)');
  if (change.classification !== undefined) {
    const allowed = REASONS[change.classification];
    if (!allowed) throw badRequest(`classification must be one of ${Object.keys(REASONS).join(', ')}`);
    const reason = change.classificationReason ?? (allowed.length === 1 ? allowed[0] : undefined);
    const fits = allowed.length === 0 ? reason === undefined : reason !== undefined && allowed.includes(reason);
    if (!fits) throw badRequest(allowed.length === 0 ? 'an Undetermined classification takes no reason' : `${change.classification} needs the classification reason ${allowed.join(' or ')}`);
    Object.assign(set, { classification: change.classification, classificationReason: reason, classificationComment: change.classificationComment });
  }
  if (change.owner) {
    const { objectId, assignedTo, userPrincipalName } = change.owner;
    if (!isGuid(objectId ?? '')) throw badRequest('an incident owner is given by their Entra object id (a GUID)');
    set.owner = { objectId, ...(assignedTo?.trim() ? { assignedTo: assignedTo.trim() } : {}), ...(userPrincipalName?.trim() ? { userPrincipalName: userPrincipalName.trim() } : {}) };
  }
  return set;
}

/** The incident's labels (kept as they are, auto-assigned ones too) with new user labels appended once, case-insensitively. */
const withLabels = (existing: unknown, add: string[]): unknown[] => {
  const labels: unknown[] = Array.isArray(existing) ? [...existing] : [];
  const known = new Set(labels.map((l) => String((l as { labelName?: unknown })?.labelName ?? '').toLowerCase()));
  for (const labelName of cleanLabels(add)) {
    if (known.has(labelName.toLowerCase())) continue;
    known.add(labelName.toLowerCase());
    labels.push({ labelName, labelType: 'User' });
  }
  return labels;
};

/** STIX 2.1 string literal: backslash and single quote escaped. */
const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

const HASHES: Record<number, string> = { 32: 'MD5', 40: 'SHA-1', 64: 'SHA-256' };

/** The STIX pattern and Sentinel pattern type for one observable (and the value as put in it), or a BAD_REQUEST saying why not. */
function stixPattern(type: ThreatIndicatorRequest['type'], raw: string): { value: string; pattern: string; patternType: string } {
  const value = typeof raw === 'string' ? raw.trim() : '';
  if (value === '') throw badRequest('an indicator needs a value');
  if (value.length > MAX_INDICATOR) throw badRequest(`an indicator value is at most ${MAX_INDICATOR} characters`);
  if (CONTROL.test(value)) throw badRequest('an indicator value must not contain control characters');
  const of = (objectType: string, path: string, v: string) => ({ value: v, pattern: `[${objectType}:${path} = ${quote(v)}]`, patternType: objectType });
  switch (type) {
    case 'ip': {
      if (ipaddr.IPv4.isValidFourPartDecimal(value)) return of('ipv4-addr', 'value', value);
      if (!value.includes('%') && ipaddr.IPv6.isValid(value)) {
        const ip = ipaddr.IPv6.parse(value);
        return ip.isIPv4MappedAddress() ? of('ipv4-addr', 'value', ip.toIPv4Address().toString()) : of('ipv6-addr', 'value', ip.toRFC5952String());
      }
      throw badRequest(`"${value.slice(0, 60)}" is not an IP address`);
    }
    case 'domain': {
      const ascii = domainToASCII(value.replace(/\.$/, ''));
      if (!/^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{2,63}$/.test(ascii)) throw badRequest(`"${value.slice(0, 60)}" is not a domain name`);
      return of('domain-name', 'value', ascii);
    }
    case 'url': {
      if (!URL.canParse(value) || !/^(https?|ftp):$/.test(new URL(value).protocol)) throw badRequest(`"${value.slice(0, 60)}" is not an http(s) or ftp URL`);
      return of('url', 'value', value);
    }
    case 'hash': {
      const algorithm = HASHES[value.length];
      if (!/^[0-9a-f]+$/i.test(value) || !algorithm) throw badRequest('a file hash is an MD5, SHA-1 or SHA-256 in hex');
      return of('file', `hashes.${quote(algorithm)}`, value.toLowerCase());
    }
    default:
      throw badRequest('an indicator type is ip, domain, url or hash');
  }
}

/** The SecurityInsights REST API of one workspace. */
export function createSentinelClient(o: SentinelClientOptions): SentinelClient {
  const workspacePath =
    `/subscriptions/${encodeURIComponent(o.subscriptionId)}/resourceGroups/${encodeURIComponent(o.resourceGroup)}` +
    `/providers/Microsoft.OperationalInsights/workspaces/${encodeURIComponent(o.workspaceName)}/providers/Microsoft.SecurityInsights`;

  const http = createHttpClient({
    upstream: UPSTREAM,
    baseUrl: `${o.armEndpoint}${workspacePath}`,
    token: bearerFrom(o.credential, `${o.armEndpoint}/.default`),
    timeoutMs: o.timeoutMs,
  });
  /** A look-up someone waits for in chat: a short budget, and any failure is an AppError they can read. */
  const lookUp = async <T>(path: string): Promise<T | undefined> => {
    try {
      return (await http.request<T>({ path, retry: { budgetMs: Math.max(o.timeoutMs, 3_000) } })).body;
    } catch (e) {
      if (!isUpstreamError(e)) throw e;
      throw new AppError(e.timedOut ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_FAILED', e.message);
    }
  };
  const failed = (a: HttpResponse<unknown>) => answerError(UPSTREAM, a);

  return {
    async findIncidentByNumber(number) {
      if (!Number.isSafeInteger(number) || number <= 0) throw new AppError('BAD_REQUEST', 'an incident number is a positive whole number');
      const filter = encodeURIComponent(`properties/incidentNumber eq ${number}`);
      const body = await lookUp<{ value?: unknown[] }>(`/incidents?api-version=${SENTINEL_API_VERSION}&$filter=${filter}&$top=1`);
      return body?.value?.[0];
    },
    async addComment(incidentArmId, commentId, message) {
      const incidentName = incidentArmId.split('/').pop() ?? '';
      if (!/^[\w-]{1,128}$/.test(incidentName) || !/^[\w-]{1,128}$/.test(commentId)) throw new AppError('BAD_REQUEST', 'not a Sentinel incident or comment id');
      // Idempotent by the comment id Vigil chose, so a retried PUT never adds a second comment.
      await http.request({ method: 'PUT', path: `/incidents/${incidentName}/comments/${commentId}?api-version=${SENTINEL_API_VERSION}`, body: { properties: { message: message.slice(0, 30_000) } } });
    },
    async updateIncident(incidentArmId, change) {
      const path = `/incidents/${incidentNameOf(incidentArmId)}?api-version=${SENTINEL_API_VERSION}`;
      const set = propertiesFor(change);
      for (let retries = 0; ; retries++) {
        const current = await http.request<{ etag?: string; properties?: Record<string, unknown> }>({ path });
        const incident = current.body;
        if (!incident?.properties) throw new UpstreamError(UPSTREAM, current.status, 'Sentinel answered without the incident properties');
        const properties = { ...incident.properties, ...set };
        if (change.addLabels?.length) properties.labels = withLabels(incident.properties.labels, change.addLabels);
        const written = await http.request({ method: 'PUT', path, body: { etag: incident.etag, properties }, accept: [...STALE_ETAG] });
        if (written.status === 200 || written.status === 201) return written.body;
        if (!STALE_ETAG.has(written.status) || retries >= ETAG_RETRIES) throw failed(written);
      }
    },
    async createThreatIndicator(i, stop) {
      const { value, pattern, patternType } = stixPattern(i.type, i.value);
      const validFrom = i.validFrom ?? new Date();
      if (Number.isNaN(validFrom.getTime())) throw badRequest('validFrom is not a valid time');
      // Not idempotent, so never retried here: a retry could create a second indicator. The worker
      // looks for the labelled one first (`findThreatIndicators`) before it tries again.
      const answer = await http.request({
        method: 'POST',
        path: `/threatIntelligence/main/createIndicator?api-version=${SENTINEL_API_VERSION}`,
        signal: stop,
        retry: { maxAttempts: 1 },
        body: {
          kind: 'indicator',
          properties: {
            source: 'Vigil',
            displayName: `Vigil: ${value}`,
            description: i.description,
            pattern,
            patternType,
            threatTypes: ['malicious-activity'],
            validFrom: validFrom.toISOString(),
            labels: cleanLabels(i.labels ?? []),
            revoked: false,
          },
        },
      });
      const name = (answer.body as { name?: unknown } | undefined)?.name;
      if (typeof name !== 'string' || !NAME.test(name)) throw new UpstreamError(UPSTREAM, answer.status, 'Sentinel created the indicator but answered without its name');
      return { name };
    },
    async findThreatIndicators(label, keyword, stop) {
      const names: string[] = [];
      let body: Record<string, unknown> | undefined = { keywords: [keyword.slice(0, MAX_LABEL)], sources: ['Vigil'], includeDisabled: true, pageSize: 100 };
      for (let page = 0; body && page < 10; page++) {
        const answer = await http.request({ method: 'POST', path: `/threatIntelligence/main/queryIndicators?api-version=${SENTINEL_API_VERSION}`, body, signal: stop });
        const found = answer.body as { value?: Array<{ name?: unknown; properties?: { labels?: unknown } }>; nextLink?: unknown } | undefined;
        for (const i of found?.value ?? []) {
          if (typeof i.name === 'string' && NAME.test(i.name) && Array.isArray(i.properties?.labels) && i.properties.labels.includes(label)) names.push(i.name);
        }
        const skipToken = typeof found?.nextLink === 'string' ? new URL(found.nextLink, 'https://x').searchParams.get('$skipToken') : null;
        body = skipToken ? { ...body, skipToken } : undefined;
      }
      return names;
    },
    async deleteThreatIndicator(name, stop) {
      if (!NAME.test(name)) throw badRequest('not a Sentinel threat indicator name');
      const answer = await http.request({ method: 'DELETE', path: `/threatIntelligence/main/indicators/${name}?api-version=${SENTINEL_API_VERSION}`, signal: stop, accept: [404] });
      return { removed: answer.status === 200 };
    },
  };
}
