import { z } from 'zod';
import { AppError } from '../errors';
import type { Incident, Owner, Severity, Status } from './incident';
import { parseEntityLists } from './parse-entities';
import { parseIsoTime, wellFormedJson } from './parse-incident';
import { isGuid } from '../ids';
import { defenderIncidentLink, XDR_INCIDENT_ID } from './defender-link';

/** Defender incident ids are numbers written as strings ("2972395"); they double as Vigil's incident number. */
const GRAPH_INCIDENT_ID = XDR_INCIDENT_ID;
/** ATT&CK technique ids as Graph lists them (`T1564.001`); anything else in `mitreTechniques` is dropped. */
const TECHNIQUE = /^T\d{4}(?:\.\d{3})?$/;
const MAX_TEXT = 200;
const MAX_ALERTS = 1000;

const text = z.string({ message: 'must be a string' });
const textList = z.array(text, { message: 'must be an array of strings' });

const isoTime = text.transform((v, ctx) => {
  const r = parseIsoTime(v);
  if (r.ok) return r.iso;
  ctx.addIssue({ code: 'custom', message: r.message });
  return z.NEVER;
});

const graphIncidentSchema = z
  .object(
    {
      id: text.regex(GRAPH_INCIDENT_ID, 'must be a Defender incident id (a number written as a string, up to 15 digits)'),
      displayName: text.trim().min(1, 'must not be empty'),
      description: text.nullish(),
      severity: text.nullish(),
      status: text.nullish(),
      classification: text.nullish(),
      determination: text.nullish(),
      assignedTo: text.nullish(),
      createdDateTime: isoTime,
      lastUpdateDateTime: isoTime.nullish(),
      incidentWebUrl: text.nullish(),
      tenantId: text.nullish(),
      redirectIncidentId: text.nullish(),
      customTags: textList.nullish(),
      // The published `$expand=alerts` example names the custom tags `tags`.
      tags: textList.nullish(),
      systemTags: textList.nullish(),
      alerts: z.array(z.unknown(), { message: 'must be an array' }).nullish(),
    },
    { message: 'must be an object' },
  )
  .loose();

type GraphIncident = z.infer<typeof graphIncidentSchema>;

/** Graph's enums are camelCase, but its published samples also write them PascalCase: compare lower-cased. */
const lower = (v: string | null | undefined) => (v ?? '').trim().toLowerCase();

const SEVERITY: Record<string, Severity> = { high: 'High', medium: 'Medium', low: 'Low', informational: 'Informational' };

/**
 * Microsoft's mapping between the Defender portal and Sentinel: Active is Sentinel's New, In
 * progress its Active, Resolved its Closed. A redirected incident was merged into another: closed here.
 */
const STATUS: Record<string, Status> = { active: 'New', inprogress: 'Active', awaitingaction: 'Active', resolved: 'Closed', redirected: 'Closed' };

/** Graph's classification in Sentinel's words (the card, stats and case policy speak those); `unknown` is none. */
const CLASSIFICATION: Record<string, string> = { truepositive: 'TruePositive', falsepositive: 'FalsePositive', informationalexpectedactivity: 'BenignPositive' };

const SERVICE_SOURCES: Record<string, string> = {
  microsoftdefenderforendpoint: 'Microsoft Defender for Endpoint',
  microsoftdefenderforidentity: 'Microsoft Defender for Identity',
  microsoftdefenderforcloudapps: 'Microsoft Defender for Cloud Apps',
  microsoftdefenderforoffice365: 'Microsoft Defender for Office 365',
  microsoft365defender: 'Microsoft Defender XDR',
  azureadidentityprotection: 'Microsoft Entra ID Protection',
  microsoftappgovernance: 'App governance',
  datalossprevention: 'Microsoft Purview Data Loss Prevention',
  microsoftdefenderforcloud: 'Microsoft Defender for Cloud',
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, max = MAX_TEXT): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, max) : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.flatMap((x) => str(x) ?? []) : []);
const unique = (xs: string[]) => [...new Set(xs.map((x) => x.trim().slice(0, MAX_TEXT)).filter((x) => x !== ''))];

/** The Defender link from `incidentWebUrl` when it is the portal's own page of this incident; rebuilt from the id otherwise. */
const defenderLink = (g: GraphIncident): string => {
  const tenant = g.tenantId && isGuid(g.tenantId) ? g.tenantId : undefined;
  return defenderIncidentLink(g.incidentWebUrl, g.id, tenant ?? undefined) ?? `https://security.microsoft.com/incidents/${g.id}${tenant ? `?tid=${tenant.toLowerCase()}` : ''}`;
};

const ownerOf = (assignedTo: string | null | undefined): Owner | undefined => {
  const who = str(assignedTo);
  if (!who) return undefined;
  return who.includes('@') ? { upn: who } : { name: who };
};

/** The earliest or latest of the alerts' times that parse; the rest are ignored, never trusted. */
const edge = (alerts: Record<string, unknown>[], name: string, pick: (a: number, b: number) => number): string | undefined => {
  const times = alerts.flatMap((a) => {
    const r = typeof a[name] === 'string' ? parseIsoTime(a[name]) : undefined;
    return r?.ok ? [Date.parse(r.iso)] : [];
  });
  return times.length ? new Date(times.reduce((a, b) => pick(a, b))).toISOString() : undefined;
};

const toIncident = (g: GraphIncident): Incident => {
  const alerts = (g.alerts ?? []).slice(0, MAX_ALERTS).filter(isObject);
  const sources = alerts.flatMap((a) => str(a.serviceSource) ?? []);
  return {
    id: g.id,
    key: `graph:${g.id}`,
    writeBack: 'graph',
    number: Number(g.id),
    title: g.displayName,
    description: g.description ?? '',
    // An unknown or future severity is shown as the lowest rather than losing the incident.
    severity: SEVERITY[lower(g.severity)] ?? 'Informational',
    status: STATUS[lower(g.status)] ?? 'Active',
    classification: CLASSIFICATION[lower(g.classification)],
    determination: lower(g.determination) && lower(g.determination) !== 'unknown' ? str(g.determination, 60) : undefined,
    owner: ownerOf(g.assignedTo),
    createdAt: g.createdDateTime,
    lastModifiedAt: g.lastUpdateDateTime ?? undefined,
    firstActivityAt: edge(alerts, 'firstActivityDateTime', Math.min),
    lastActivityAt: edge(alerts, 'lastActivityDateTime', Math.max),
    url: defenderLink(g),
    xdrId: g.id,
    labels: unique([...(g.customTags ?? []), ...(g.tags ?? []), ...(g.systemTags ?? [])]),
    products: unique(sources.map((s) => SERVICE_SOURCES[s.toLowerCase()] ?? s)),
    tactics: unique(alerts.flatMap((a) => str(a.category, 60) ?? [])),
    techniques: unique(alerts.flatMap((a) => strings(a.mitreTechniques).filter((t) => TECHNIQUE.test(t)))),
    alertCount: alerts.length,
    ruleIds: unique(alerts.flatMap((a) => str(a.detectorId, 128) ?? [])),
    entities: parseEntityLists(alerts.map((a) => (Array.isArray(a.evidence) ? a.evidence : []))),
  };
};

const fieldPath = (path: PropertyKey[]) => path.map(String).join('.') || 'body';

/**
 * Parses a Microsoft Graph security incident (`GET /security/incidents?$expand=alerts`, or one
 * incident) into our `Incident`, keyed `graph:<id>` and written back through Graph. Every field is
 * the attacker's: strings come out well-formed, times strict, enums read case-insensitively (an
 * unknown value falls back rather than losing the incident), techniques only in ATT&CK's form, the
 * link only the Defender portal's page of this incident. Entities come from the alerts' evidence
 * through the one entity parser. Throws only AppError BAD_REQUEST, naming every bad field.
 */
export function parseGraphIncident(body: unknown): Incident {
  if (!isObject(body)) throw new AppError('BAD_REQUEST', 'body: must be a JSON object (a Graph security incident)', { fields: ['body'] });
  const parsed = graphIncidentSchema.safeParse(wellFormedJson(body));
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => fieldPath(i.path)))];
    throw new AppError('BAD_REQUEST', parsed.error.issues.map((i) => `${fieldPath(i.path)}: ${i.message}`).join('; '), { fields });
  }
  return toIncident(parsed.data);
}

/** Where a Graph incident was merged to (`status: redirected`), when Graph says. */
export const redirectTargetOf = (body: unknown): string | undefined => {
  const id = isObject(body) ? body.redirectIncidentId : undefined;
  return typeof id === 'string' && GRAPH_INCIDENT_ID.test(id) ? id : undefined;
};
