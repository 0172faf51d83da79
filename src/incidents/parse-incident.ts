import { z } from 'zod';
import { AppError } from '../errors';
import { SEVERITIES, STATUSES, type Incident } from './incident';
import { parseEntities } from './parse-entities';

/** `/subscriptions/…/workspaces/…/providers/Microsoft.SecurityInsights/incidents/<id>`, safe characters only. */
const INCIDENT_ARM_ID =
  /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[\w.()-]{1,90}\/providers\/Microsoft\.OperationalInsights\/workspaces\/[\w-]{1,63}\/providers\/Microsoft\.SecurityInsights\/incidents\/[\w-]{1,128}$/i;

const isoTime = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO 8601 time');
const textList = z.array(z.string()).catch([]);

const ownerSchema = z
  .object({
    objectId: z.string().nullish(),
    email: z.string().nullish(),
    userPrincipalName: z.string().nullish(),
    assignedTo: z.string().nullish(),
  })
  .nullish();

const propertiesSchema = z.object({
  title: z.string().trim().min(1, 'must not be empty'),
  description: z.string().nullish(),
  severity: z.enum(SEVERITIES, { message: `must be one of ${SEVERITIES.join(', ')}` }),
  status: z.enum(STATUSES, { message: `must be one of ${STATUSES.join(', ')}` }),
  incidentNumber: z.coerce.number().int().positive(),
  createdTimeUtc: isoTime,
  lastModifiedTimeUtc: isoTime.nullish(),
  firstActivityTimeUtc: isoTime.nullish(),
  lastActivityTimeUtc: isoTime.nullish(),
  classification: z.string().nullish(),
  owner: ownerSchema,
  labels: z.array(z.object({ labelName: z.string() }).loose()).catch([]).nullish(),
  relatedAnalyticRuleIds: textList.nullish(),
  additionalData: z
    .object({ alertsCount: z.number().nullish(), alertProductNames: textList.nullish(), tactics: textList.nullish(), techniques: textList.nullish() })
    .loose()
    .nullish(),
  relatedEntities: z.array(z.unknown()).nullish(),
  alerts: z.array(z.unknown()).nullish(),
}).loose();

const incidentResourceSchema = z.object({
  id: z.string().regex(INCIDENT_ARM_ID, 'must be a Sentinel incident ARM id'),
  etag: z.string().nullish(),
  properties: propertiesSchema,
}).loose();

const envelopeSchema = z.object({
  objectSchemaType: z.literal('Incident', { message: 'must be "Incident"' }),
  objectEventType: z.string().optional(),
  object: incidentResourceSchema,
}).loose();

type IncidentResource = z.infer<typeof incidentResourceSchema>;

const portalLink = (portalUrl: string, armId: string) => `${portalUrl}/#asset/Microsoft_Azure_Security_Insights/Incident${armId}`;

const alertFacts = (alerts: unknown[]) => {
  const products: string[] = [];
  const tactics: string[] = [];
  const techniques: string[] = [];
  for (const a of alerts) {
    const p = (a as { properties?: Record<string, unknown> })?.properties;
    if (!p) continue;
    if (typeof p.productName === 'string') products.push(p.productName);
    if (Array.isArray(p.tactics)) tactics.push(...p.tactics.filter((t): t is string => typeof t === 'string'));
    if (Array.isArray(p.techniques)) techniques.push(...p.techniques.filter((t): t is string => typeof t === 'string'));
  }
  return { products, tactics, techniques };
};

const unique = (xs: string[]) => [...new Set(xs.map((x) => x.trim()).filter((x) => x !== ''))];

const toIncident = (r: IncidentResource, portalUrl: string): Incident => {
  const p = r.properties;
  const extra = p.additionalData ?? {};
  const alerts = p.alerts ?? [];
  const fromAlerts = alertFacts(alerts);
  // Entities may come with the incident (trigger) and inside each alert (alert-shaped payloads).
  const alertEntities = alerts.flatMap((a) => {
    const e = (a as { properties?: { entities?: unknown } })?.properties?.entities;
    return Array.isArray(e) ? e : [];
  });
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
    createdAt: new Date(p.createdTimeUtc).toISOString(),
    lastModifiedAt: p.lastModifiedTimeUtc ? new Date(p.lastModifiedTimeUtc).toISOString() : undefined,
    firstActivityAt: p.firstActivityTimeUtc ?? undefined,
    lastActivityAt: p.lastActivityTimeUtc ?? undefined,
    etag: r.etag ?? undefined,
    url: portalLink(portalUrl, r.id),
    labels: unique((p.labels ?? []).map((l) => l.labelName)),
    products: unique([...(extra.alertProductNames ?? []), ...fromAlerts.products]),
    tactics: unique([...(extra.tactics ?? []), ...fromAlerts.tactics]),
    techniques: unique([...(extra.techniques ?? []), ...fromAlerts.techniques]),
    alertCount: extra.alertsCount ?? alerts.length,
    ruleIds: unique(p.relatedAnalyticRuleIds ?? []),
    entities: parseEntities([...(p.relatedEntities ?? []), ...alertEntities]),
  };
};

const describeIssues = (error: z.ZodError, prefix: string) =>
  error.issues.map((i) => `${[prefix, ...i.path].filter((s) => s !== '').join('.')}: ${i.message}`).join('; ');

/**
 * Parses what Sentinel sends — the automation-rule trigger envelope or a bare incident resource
 * from the SecurityInsights REST API — into our `Incident`. Throws BAD_REQUEST naming every bad
 * field; the portal link is always rebuilt from the validated ARM id.
 */
export function parseIncident(body: unknown, options: { portalUrl: string }): Incident {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AppError('BAD_REQUEST', 'body: must be a JSON object (a Sentinel incident or its trigger envelope)');
  }
  const isEnvelope = 'object' in body || 'objectSchemaType' in body;
  if (isEnvelope) {
    const parsed = envelopeSchema.safeParse(body);
    if (!parsed.success) throw new AppError('BAD_REQUEST', describeIssues(parsed.error, ''));
    return toIncident(parsed.data.object, options.portalUrl);
  }
  const parsed = incidentResourceSchema.safeParse(body);
  if (!parsed.success) throw new AppError('BAD_REQUEST', describeIssues(parsed.error, ''));
  return toIncident(parsed.data, options.portalUrl);
}
