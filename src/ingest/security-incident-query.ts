import { quoteKqlString } from '../enrichment/kql-quote';

/** The columns the poller reads; `IngestedAt` is `ingestion_time()` as text, to the 100 ns. */
export const INCIDENT_COLUMNS = [
  'IncidentName',
  'IncidentNumber',
  'Title',
  'Description',
  'Severity',
  'Status',
  'Classification',
  'Owner',
  'Labels',
  'CreatedTime',
  'LastModifiedTime',
  'FirstActivityTime',
  'LastActivityTime',
  'AdditionalData',
  'RelatedAnalyticRuleIds',
  'AlertIds',
  'ProviderName',
  'ProviderIncidentId',
  'IngestedAt',
] as const;

export const ALERT_COLUMNS = ['SystemAlertId', 'ProductName', 'Tactics', 'Techniques', 'Entities'] as const;

/** Where the previous page ended: rows are read in (ingestion time, name) order. */
export interface PageKey {
  /** Log Analytics' own `tostring(ingestion_time())`, never shortened, so ties compare exactly. */
  ingestedAt: string;
  incidentName: string;
}

/** What `tostring(datetime)` gives; the only shape a time may have to enter a query. */
const KQL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

const kqlTime = (value: Date | string): string => {
  const text = typeof value === 'string' ? value : value.toISOString();
  if (!KQL_TIME.test(text)) throw new Error(`not a UTC time Log Analytics wrote: ${JSON.stringify(text.slice(0, 40))}`);
  return `datetime(${text})`;
};

/**
 * Strictly after the previous page's last row. A name KQL cannot quote (control characters; never
 * a real incident's) leaves the time alone to decide: its ties wait for the next poll's overlap.
 */
const afterKey = (k: PageKey): string => {
  const at = kqlTime(k.ingestedAt);
  let name: string;
  try {
    name = quoteKqlString(k.incidentName);
  } catch {
    return `IngestedAt > ${at}`;
  }
  return `IngestedAt > ${at} or (IngestedAt == ${at} and IncidentName > ${name})`;
};

/**
 * One page of incident changes ingested after `from`: the latest row of each incident (by
 * `LastModifiedTime`), in ingestion order, after `after`. The lower bound is on `ingestion_time()`
 * rather than `TimeGenerated` because a row may be ingested long after it was generated;
 * the caller's overlap re-reads the last minutes for rows that become visible late.
 */
export function securityIncidentQuery(o: { from: Date; after?: PageKey; take: number }): string {
  const after = o.after ? [`| where ${afterKey(o.after)}`] : [];
  return [
    'SecurityIncident',
    '| extend IngestedAt = ingestion_time()',
    `| where IngestedAt > ${kqlTime(o.from)}`,
    '| summarize arg_max(LastModifiedTime, *) by IncidentName',
    ...after,
    '| order by IngestedAt asc, IncidentName asc',
    `| take ${Math.trunc(o.take)}`,
    `| project ${INCIDENT_COLUMNS.map((c) => (c === 'IngestedAt' ? 'IngestedAt = tostring(IngestedAt)' : c)).join(', ')}`,
  ].join('\n');
}

/** The latest row of each of these alerts (ids the caller checked are GUIDs, quoted all the same). */
export function securityAlertQuery(alertIds: string[]): string {
  return [
    'SecurityAlert',
    `| where SystemAlertId in (${alertIds.map(quoteKqlString).join(', ')})`,
    '| summarize arg_max(TimeGenerated, *) by SystemAlertId',
    `| project ${ALERT_COLUMNS.join(', ')}`,
  ].join('\n');
}
