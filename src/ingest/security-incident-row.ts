import type { KqlTable } from '../enrichment/kql-runner';
import { isGuid } from '../ids';

export interface Workspace {
  subscriptionId: string;
  resourceGroup: string;
  workspaceName: string;
}

/** Sentinel keeps at most 150 alerts in an incident; more ids than that in a row are not genuine. */
const MAX_ALERTS_PER_INCIDENT = 150;

/** A table's rows as objects keyed by column name (the SDK gives arrays). */
export const rowObjects = (table: KqlTable): Array<Record<string, unknown>> => table.rows.map((values) => Object.fromEntries(table.columns.map((c, i) => [c, values[i]])));

/**
 * The SDK turns `datetime` columns into Dates (an Invalid Date when Log Analytics sent nonsense);
 * the parser takes ISO text, so an invalid one stays text it will refuse.
 */
const isoText = (v: unknown): unknown => {
  if (v === null || v === undefined || v === '') return undefined;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'not a time' : v.toISOString();
  return v;
};

/** Log Analytics has no null for strings: an unset one is ''. */
const text = (v: unknown): unknown => (v === '' || v === null ? undefined : v);

/** The ARM id the SecurityInsights API gives this incident, so the webhook and the poller store one incident under one key. */
export const incidentArmId = (w: Workspace, incidentName: unknown): string =>
  `/subscriptions/${w.subscriptionId}/resourceGroups/${w.resourceGroup}/providers/Microsoft.OperationalInsights/workspaces/${w.workspaceName}/providers/Microsoft.SecurityInsights/incidents/${String(incidentName)}`;

/** The row's alert ids that look like Sentinel's (GUIDs); anything else is ignored, never queried. */
export const alertIdsOf = (row: Record<string, unknown>): string[] =>
  Array.isArray(row.AlertIds) ? [...new Set(row.AlertIds.filter((id): id is string => typeof id === 'string' && isGuid(id)).map((id) => id.toLowerCase()))].slice(0, MAX_ALERTS_PER_INCIDENT) : [];

/**
 * A SecurityIncident row in the shape of the SecurityInsights REST resource, for `parseIncident`,
 * which validates it exactly as it validates the webhook's. Nothing is checked here: every value is
 * passed on as it came (the incident name only inside the ARM id the parser checks).
 */
export function incidentResourceFromRow(row: Record<string, unknown>, w: Workspace, alerts: unknown[] = []): unknown {
  return {
    id: incidentArmId(w, row.IncidentName),
    properties: {
      title: row.Title,
      description: text(row.Description),
      severity: row.Severity,
      status: row.Status,
      incidentNumber: row.IncidentNumber,
      classification: text(row.Classification),
      owner: row.Owner ?? undefined,
      labels: row.Labels ?? undefined,
      createdTimeUtc: isoText(row.CreatedTime),
      lastModifiedTimeUtc: isoText(row.LastModifiedTime),
      firstActivityTimeUtc: isoText(row.FirstActivityTime),
      lastActivityTimeUtc: isoText(row.LastActivityTime),
      additionalData: row.AdditionalData ?? undefined,
      relatedAnalyticRuleIds: row.RelatedAnalyticRuleIds ?? undefined,
      // Defender XDR's incident id for the incidents it raised: the Graph poller's copy is the same incident.
      providerName: text(row.ProviderName),
      providerIncidentId: text(row.ProviderIncidentId),
      alerts,
    },
  };
}

/** A JSON text column; unreadable text is nothing (one odd alert must not lose the incident). */
const jsonText = (v: unknown): unknown => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
};

/**
 * A SecurityAlert row as the alert the REST API nests in an incident (`properties.productName`,
 * `tactics`, `techniques`, `entities`), which `parseIncident` reads for products and entities.
 * The entities stay in the alert schema (`Type`, `Name`, `$id`/`$ref`): the one entity parser reads
 * that shape for the webhook too.
 */
export function alertFromRow(row: Record<string, unknown>): unknown {
  const entities = jsonText(row.Entities);
  const techniques = jsonText(row.Techniques);
  return {
    properties: {
      productName: row.ProductName,
      tactics:
        typeof row.Tactics === 'string'
          ? row.Tactics.split(',')
              .map((t) => t.trim())
              .filter((t) => t !== '')
          : [],
      techniques: Array.isArray(techniques) ? techniques : [],
      entities: Array.isArray(entities) ? entities : [],
    },
  };
}
