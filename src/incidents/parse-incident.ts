import { z } from 'zod';
import { AppError } from '../errors';
import { SEVERITIES, STATUSES, type Incident, type WorkspaceRef } from './incident';
import { parseEntityLists } from './parse-entities';
import { isIncidentResourceId } from '../ids';
import { defenderIncidentLink, XDR_INCIDENT_ID } from './defender-link';

/** Deeper than any Sentinel payload nests (a SecurityAlert entity inside a process inside an alert is about 8). */
const MAX_DEPTH = 64;

/** NUL (PostgreSQL refuses it in text and jsonb) and UTF-16 surrogates without their other half. */
const ILL_FORMED = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The string with NUL and lone surrogates replaced by U+FFFD, so it can be stored and shown. */
export const wellFormed = (s: string): string => s.replace(ILL_FORMED, '\ufffd');

/**
 * A copy of a parsed JSON value whose every string (keys too) is well-formed. Throws BAD_REQUEST
 * past `MAX_DEPTH` levels rather than recursing without bound.
 */
export function wellFormedJson(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return wellFormed(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) throw new AppError('BAD_REQUEST', `body: nested deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) return value.map((v) => wellFormedJson(v, depth + 1));
  // fromEntries defines own properties, so a "__proto__" key stays a plain key.
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [wellFormed(k), wellFormedJson(v, depth + 1)]));
}

/**
 * ISO 8601 / RFC 3339 date-time with seconds and an explicit offset, as Sentinel and Log Analytics
 * write them (up to 7 fractional digits: .NET ticks). No date-only, no local time, no week dates.
 */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):(\d{2}))$/;
const MIN_YEAR = 1970;
const MAX_YEAR = 9999;
const TIME_MESSAGE = 'must be an ISO 8601 time with an offset (Z or ±hh:mm), e.g. 2026-11-24T01:20:00Z';

/** The instant `text` names, or why it is refused. Exported for the tests. */
export function parseIsoTime(text: string): { ok: true; iso: string } | { ok: false; message: string } {
  const m = ISO_TIME.exec(text);
  if (!m) return { ok: false, message: TIME_MESSAGE };
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  // Checked before Date.UTC, which reads years 0–99 as 1900–1999.
  if (year < MIN_YEAR - 1 || year > MAX_YEAR) return { ok: false, message: `must be between the years ${MIN_YEAR} and ${MAX_YEAR}` };
  const millis = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3));
  const offsetMinutes = m[8] === 'Z' ? 0 : (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11]));
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const d = new Date(local);
  // Date.UTC rolls 31 February over into March; a real date comes back unchanged.
  if (month < 1 || month > 12 || d.getUTCDate() !== day || d.getUTCMonth() !== month - 1 || hour > 23 || minute > 59 || second > 59) {
    return { ok: false, message: `${TIME_MESSAGE}; ${text.slice(0, 40)} is not a real date and time` };
  }
  if (m[8] !== 'Z' && (Number(m[10]) > 14 || Number(m[11]) > 59)) return { ok: false, message: `${TIME_MESSAGE}; the offset is out of range` };
  const instant = new Date(local - offsetMinutes * 60_000);
  const y = instant.getUTCFullYear();
  if (y < MIN_YEAR || y > MAX_YEAR) return { ok: false, message: `must be between the years ${MIN_YEAR} and ${MAX_YEAR}` };
  return { ok: true, iso: instant.toISOString() };
}

/** A strict ISO time, normalised to UTC with millisecond precision. */
const isoTime = z.string({ message: TIME_MESSAGE }).transform((v, ctx) => {
  const r = parseIsoTime(v);
  if (r.ok) return r.iso;
  ctx.addIssue({ code: 'custom', message: r.message });
  return z.NEVER;
});

/** JSON numbers only: "42", true or [42] are refused, never read as numbers. */
const count = (what: string, min: number) =>
  z
    .number({ message: `must be a number${what}` })
    .int({ message: 'must be a whole number' })
    .min(min, { message: `must be at least ${min}` })
    .max(Number.MAX_SAFE_INTEGER, { message: `must be at most ${Number.MAX_SAFE_INTEGER} (2^53 - 1)` });

const text = z.string({ message: 'must be a string' });
const textList = z.array(text, { message: 'must be an array of strings' });

const ownerSchema = z
  .object(
    {
      objectId: text.nullish(),
      email: text.nullish(),
      userPrincipalName: text.nullish(),
      assignedTo: text.nullish(),
    },
    { message: 'must be an object' },
  )
  .loose()
  .nullish();

const propertiesSchema = z
  .object(
    {
      title: text.trim().min(1, 'must not be empty'),
      description: text.nullish(),
      severity: z.enum(SEVERITIES, { message: `must be one of ${SEVERITIES.join(', ')}` }),
      status: z.enum(STATUSES, { message: `must be one of ${STATUSES.join(', ')}` }),
      incidentNumber: count(' (a JSON number, not a string)', 1),
      createdTimeUtc: isoTime,
      lastModifiedTimeUtc: isoTime.nullish(),
      firstActivityTimeUtc: isoTime.nullish(),
      lastActivityTimeUtc: isoTime.nullish(),
      classification: text.nullish(),
      owner: ownerSchema,
      labels: z.array(z.object({ labelName: text }, { message: 'must be an object' }).loose(), { message: 'must be an array of labels' }).nullish(),
      relatedAnalyticRuleIds: textList.nullish(),
      additionalData: z
        .object({ alertsCount: count('', 0).nullish(), alertProductNames: textList.nullish(), tactics: textList.nullish(), techniques: textList.nullish() }, { message: 'must be an object' })
        .loose()
        .nullish(),
      relatedEntities: z.array(z.unknown(), { message: 'must be an array' }).nullish(),
      alerts: z.array(z.unknown(), { message: 'must be an array' }).nullish(),
    },
    { message: 'must be an object' },
  )
  .loose();

const incidentResourceSchema = z
  .object(
    {
      id: text.refine(isIncidentResourceId, 'must be a Sentinel incident ARM id'),
      etag: text.nullish(),
      properties: propertiesSchema,
    },
    { message: 'must be an object' },
  )
  .loose();

const workspaceInfoSchema = z.object({ SubscriptionId: text.optional(), ResourceGroupName: text.optional(), WorkspaceName: text.optional() }, { message: 'must be an object' }).loose().optional();

const envelopeSchema = z
  .object({
    objectSchemaType: z.literal('Incident', { message: 'must be "Incident"' }),
    objectEventType: text.optional(),
    workspaceInfo: workspaceInfoSchema,
    object: incidentResourceSchema,
  })
  .loose();

type IncidentResource = z.infer<typeof incidentResourceSchema>;

const portalLink = (portalUrl: string, armId: string) => `${portalUrl}/#asset/Microsoft_Azure_Security_Insights/Incident${armId}`;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const alertFacts = (alerts: unknown[]) => {
  const products: string[] = [];
  const tactics: string[] = [];
  const techniques: string[] = [];
  for (const a of alerts) {
    const p = isObject(a) && isObject(a.properties) ? a.properties : undefined;
    if (!p) continue;
    if (typeof p.productName === 'string') products.push(p.productName);
    if (Array.isArray(p.tactics)) tactics.push(...p.tactics.filter((t): t is string => typeof t === 'string'));
    if (Array.isArray(p.techniques)) techniques.push(...p.techniques.filter((t): t is string => typeof t === 'string'));
  }
  return { products, tactics, techniques };
};

/**
 * The entity lists alerts carry, one per alert: `properties.entities` (how the poller and
 * alert-shaped payloads nest them) and `properties.relatedEntities` (the REST API's expanded alert).
 */
const alertEntityLists = (alerts: unknown[]): unknown[][] =>
  alerts.flatMap((a) => {
    const p = isObject(a) && isObject(a.properties) ? a.properties : undefined;
    if (!p) return [];
    return [p.entities, p.relatedEntities].filter((e): e is unknown[] => Array.isArray(e));
  });

const unique = (xs: string[]) => [...new Set(xs.map((x) => x.trim()).filter((x) => x !== ''))];

/** Providers whose `providerIncidentId` is a Defender XDR incident id (the portal's older name too). */
const XDR_PROVIDERS = new Set(['microsoft xdr', 'microsoft 365 defender', 'microsoft defender xdr']);

/**
 * What ties a Sentinel incident to Defender: the XDR incident id (when Defender XDR raised it) and
 * the Defender portal's page of it (`additionalData.providerIncidentUrl`). Both are read leniently —
 * a wrong type or a link that is not the portal's page of an incident is left out, never shown, and
 * never refuses the incident.
 */
const defenderSide = (p: Record<string, unknown>, extra: Record<string, unknown>): Pick<Incident, 'xdrId' | 'defenderUrl'> => {
  const provider = typeof p.providerName === 'string' ? p.providerName.trim().toLowerCase() : '';
  const id = typeof p.providerIncidentId === 'string' ? p.providerIncidentId.trim() : '';
  const xdrId = XDR_PROVIDERS.has(provider) && XDR_INCIDENT_ID.test(id) ? id : undefined;
  const defenderUrl = defenderIncidentLink(extra.providerIncidentUrl, xdrId);
  return { ...(xdrId && { xdrId }), ...(defenderUrl && { defenderUrl }) };
};

const toIncident = (r: IncidentResource, portalUrl: string): Incident => {
  const p = r.properties;
  const extra = p.additionalData ?? {};
  const alerts = p.alerts ?? [];
  const fromAlerts = alertFacts(alerts);
  const owner = p.owner
    ? {
        name: p.owner.assignedTo ?? undefined,
        upn: p.owner.userPrincipalName ?? undefined,
        email: p.owner.email ?? undefined,
        objectId: p.owner.objectId ?? undefined,
      }
    : undefined;
  return {
    id: r.id,
    key: r.id.toLowerCase(),
    number: p.incidentNumber,
    title: p.title,
    description: p.description ?? '',
    severity: p.severity,
    status: p.status,
    classification: p.classification ?? undefined,
    owner: owner && Object.values(owner).some((v) => v) ? owner : undefined,
    createdAt: p.createdTimeUtc,
    lastModifiedAt: p.lastModifiedTimeUtc ?? undefined,
    firstActivityAt: p.firstActivityTimeUtc ?? undefined,
    lastActivityAt: p.lastActivityTimeUtc ?? undefined,
    etag: r.etag ?? undefined,
    url: portalLink(portalUrl, r.id),
    ...defenderSide(p, extra),
    labels: unique((p.labels ?? []).map((l) => l.labelName)),
    products: unique([...(extra.alertProductNames ?? []), ...fromAlerts.products]),
    tactics: unique([...(extra.tactics ?? []), ...fromAlerts.tactics]),
    techniques: unique([...(extra.techniques ?? []), ...fromAlerts.techniques]),
    alertCount: extra.alertsCount ?? alerts.length,
    ruleIds: unique(p.relatedAnalyticRuleIds ?? []),
    // Entities come with the incident (trigger, REST) and inside each alert (poller, alert-shaped payloads).
    entities: parseEntityLists([p.relatedEntities ?? [], ...alertEntityLists(alerts)]),
  };
};

const fieldPath = (prefix: string, path: PropertyKey[]) => [prefix, ...path.map(String)].filter((s) => s !== '').join('.') || 'body';

const refuse = (error: z.ZodError, prefix: string): never => {
  const fields = [...new Set(error.issues.map((i) => fieldPath(prefix, i.path)))];
  const message = error.issues.map((i) => `${fieldPath(prefix, i.path)}: ${i.message}`).join('; ');
  throw new AppError('BAD_REQUEST', message, { fields });
};

export interface ParsedIncidentPayload {
  incident: Incident;
  /** The envelope's `workspaceInfo`, when the payload was a trigger envelope that had one. */
  workspaceInfo?: Partial<WorkspaceRef>;
}

/**
 * Like `parseIncident`, and also gives what the envelope says about its workspace, so ingest can
 * hold it against the incident's ARM id.
 */
export function parseIncidentPayload(body: unknown, options: { portalUrl: string }): ParsedIncidentPayload {
  if (!isObject(body)) {
    throw new AppError('BAD_REQUEST', 'body: must be a JSON object (a Sentinel incident or its trigger envelope)', { fields: ['body'] });
  }
  const clean = wellFormedJson(body) as Record<string, unknown>;
  const isEnvelope = 'object' in clean || 'objectSchemaType' in clean;
  if (isEnvelope) {
    const parsed = envelopeSchema.safeParse(clean);
    if (!parsed.success) return refuse(parsed.error, '');
    const w = parsed.data.workspaceInfo;
    return {
      incident: toIncident(parsed.data.object, options.portalUrl),
      workspaceInfo: w && { subscriptionId: w.SubscriptionId, resourceGroup: w.ResourceGroupName, workspaceName: w.WorkspaceName },
    };
  }
  const parsed = incidentResourceSchema.safeParse(clean);
  if (!parsed.success) return refuse(parsed.error, '');
  return { incident: toIncident(parsed.data, options.portalUrl) };
}

/**
 * Parses what Sentinel sends — the automation-rule trigger envelope or a bare incident resource
 * from the SecurityInsights REST API — into our `Incident`. Never coerces: a value of the wrong
 * type, a time without an offset or out of range, a number past 2^53 - 1 is refused. Every string
 * comes out well-formed (NUL and lone surrogates become U+FFFD). Throws only AppError BAD_REQUEST,
 * naming every bad field (also in `details.fields`); the portal link is rebuilt from the ARM id.
 */
export function parseIncident(body: unknown, options: { portalUrl: string }): Incident {
  return parseIncidentPayload(body, options).incident;
}
