import { domainToASCII } from 'node:url';
import ipaddr from 'ipaddr.js';
import type { TokenCredential } from '@azure/identity';
import { isTimeout } from '../timeout';
import { callSignal, RunAborted, throwIfStopped } from '../actions/run-aborted';
import { bearerFor } from '../azure-credential';
import { AppError } from '../errors';
import { UpstreamError } from '../enrichment/upstream';
import { parseRetryAfter } from '../teams/connector-client';

/** Incidents, comments and threat-intelligence indicators: all confirmed in the 2025-09-01 stable spec. */
export const SENTINEL_API_VERSION = '2025-09-01';

const UPSTREAM = 'Microsoft Sentinel';
const NAME = /^[\w-]{1,128}$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
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

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';
type CloudError = { error?: { code?: string; message?: string } } | undefined;
interface Answer {
  status: number;
  body: unknown;
  retryAfterMs?: number;
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
    if (!GUID.test(objectId ?? '')) throw badRequest('an incident owner is given by their Entra object id (a GUID)');
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

  const request = async (method: Method, pathAndQuery: string, body?: unknown, stop?: AbortSignal): Promise<Response> => {
    const headers: Record<string, string> = { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
    const token = await bearerFor(o.credential, `${o.armEndpoint}/.default`);
    if (token) headers.authorization = `Bearer ${token}`;
    return fetch(`${o.armEndpoint}${workspacePath}${pathAndQuery}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: callSignal(o.timeoutMs, stop) });
  };
  const noAnswer = (e: unknown) =>
    isTimeout(e) ? `Sentinel did not answer within ${o.timeoutMs} ms` : `Sentinel is unreachable (${String((e as { message?: unknown })?.message ?? e)})`;
  const describe = (status: number, answer: CloudError) =>
    `Sentinel answered ${status}${answer?.error?.code ? ` ${answer.error.code}` : ''}${answer?.error?.message ? `: ${answer.error.message.slice(0, 200)}` : ''}`;

  /** For the first methods: any failure is an AppError. */
  const send = async (method: Method, pathAndQuery: string, body?: unknown): Promise<unknown> => {
    let res: Response;
    try {
      res = await request(method, pathAndQuery, body);
    } catch (e) {
      throw new AppError(isTimeout(e) ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_FAILED', noAnswer(e));
    }
    const answer = (await res.json().catch(() => undefined)) as CloudError;
    if (!res.ok) throw new AppError('UPSTREAM_FAILED', describe(res.status, answer));
    return answer;
  };
  /** For the write-back methods: every answer, or an UpstreamError with status 0 when there is none. */
  const exchange = async (method: Method, pathAndQuery: string, body?: unknown, stop?: AbortSignal): Promise<Answer> => {
    throwIfStopped(stop);
    let res: Response;
    try {
      res = await request(method, pathAndQuery, body, stop);
    } catch (e) {
      throw stop?.aborted ? new RunAborted() : new UpstreamError(UPSTREAM, 0, noAnswer(e));
    }
    const text = await res.text().catch(() => '');
    throwIfStopped(stop);
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, retryAfterMs: parseRetryAfter(res.headers.get('retry-after')) };
  };
  const failed = (a: Answer) => new UpstreamError(UPSTREAM, a.status, describe(a.status, a.body as CloudError), a.retryAfterMs);

  return {
    async findIncidentByNumber(number) {
      if (!Number.isSafeInteger(number) || number <= 0) throw new AppError('BAD_REQUEST', 'an incident number is a positive whole number');
      const filter = encodeURIComponent(`properties/incidentNumber eq ${number}`);
      const body = (await send('GET', `/incidents?api-version=${SENTINEL_API_VERSION}&$filter=${filter}&$top=1`)) as { value?: unknown[] };
      return body.value?.[0];
    },
    async addComment(incidentArmId, commentId, message) {
      const incidentName = incidentArmId.split('/').pop() ?? '';
      if (!/^[\w-]{1,128}$/.test(incidentName) || !/^[\w-]{1,128}$/.test(commentId)) throw new AppError('BAD_REQUEST', 'not a Sentinel incident or comment id');
      await send('PUT', `/incidents/${incidentName}/comments/${commentId}?api-version=${SENTINEL_API_VERSION}`, { properties: { message: message.slice(0, 30_000) } });
    },
    async updateIncident(incidentArmId, change) {
      const path = `/incidents/${incidentNameOf(incidentArmId)}?api-version=${SENTINEL_API_VERSION}`;
      const set = propertiesFor(change);
      for (let retries = 0; ; retries++) {
        const current = await exchange('GET', path);
        if (current.status !== 200) throw failed(current);
        const incident = current.body as { etag?: string; properties?: Record<string, unknown> } | undefined;
        if (!incident?.properties) throw new UpstreamError(UPSTREAM, current.status, 'Sentinel answered without the incident properties');
        const properties = { ...incident.properties, ...set };
        if (change.addLabels?.length) properties.labels = withLabels(incident.properties.labels, change.addLabels);
        const written = await exchange('PUT', path, { etag: incident.etag, properties });
        if (written.status === 200 || written.status === 201) return written.body;
        if (!STALE_ETAG.has(written.status) || retries >= ETAG_RETRIES) throw failed(written);
      }
    },
    async createThreatIndicator(i, stop) {
      const { value, pattern, patternType } = stixPattern(i.type, i.value);
      const validFrom = i.validFrom ?? new Date();
      if (Number.isNaN(validFrom.getTime())) throw badRequest('validFrom is not a valid time');
      const answer = await exchange('POST', `/threatIntelligence/main/createIndicator?api-version=${SENTINEL_API_VERSION}`, {
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
      }, stop);
      if (answer.status !== 200 && answer.status !== 201) throw failed(answer);
      const name = (answer.body as { name?: unknown } | undefined)?.name;
      if (typeof name !== 'string' || !NAME.test(name)) throw new UpstreamError(UPSTREAM, answer.status, 'Sentinel created the indicator but answered without its name');
      return { name };
    },
    async findThreatIndicators(label, keyword, stop) {
      const names: string[] = [];
      let body: Record<string, unknown> | undefined = { keywords: [keyword.slice(0, MAX_LABEL)], sources: ['Vigil'], includeDisabled: true, pageSize: 100 };
      for (let page = 0; body && page < 10; page++) {
        const answer = await exchange('POST', `/threatIntelligence/main/queryIndicators?api-version=${SENTINEL_API_VERSION}`, body, stop);
        if (answer.status !== 200) throw failed(answer);
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
      const answer = await exchange('DELETE', `/threatIntelligence/main/indicators/${name}?api-version=${SENTINEL_API_VERSION}`, undefined, stop);
      if (answer.status === 200) return { removed: true };
      if (answer.status === 204 || answer.status === 404) return { removed: false };
      throw failed(answer);
    },
  };
}
