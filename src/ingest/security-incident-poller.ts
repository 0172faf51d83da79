import { isAppError } from '../errors';
import { KqlError, type KqlRunner } from '../enrichment/kql-runner';
import type { Logger } from '../logger';
import { parseIncident } from '../incidents/parse-incident';
import type { Incident } from '../incidents/incident';
import { storedModificationTimes } from '../store/incident-repository';
import { ingestIncident, type IngestDeps } from './ingest-incident';
import { badFields, createLeasedPoller, LeaseLost, type LeasedPoller, type PollPass } from './leased-poller';
import { securityAlertQuery, securityIncidentQuery, type PageKey } from './security-incident-query';
import { alertFromRow, alertIdsOf, incidentResourceFromRow, rowObjects, type Workspace } from './security-incident-row';

export const SECURITY_INCIDENT_CURSOR = 'security-incident';

const DAY_MS = 86_400_000;
/** Log Analytics' default retention: no alert of a live incident is older. */
const MAX_ALERT_AGE_MS = 90 * DAY_MS;
/** Alert ids per SecurityAlert query: keeps the query text well under the service's limit. */
const ALERT_IDS_PER_QUERY = 300;

export interface SecurityIncidentPollerOptions {
  runner: KqlRunner;
  /** The webhook's own path: parse, store, then `onChange` (outbox, enrichment, paging). */
  ingest: IngestDeps;
  workspace: Workspace;
  /** The stored cursor (and lease) this poller owns; `security-incident` by default. */
  cursor?: string;
  logger: Logger;
  intervalMs: number;
  /** How far back the very first poll reads (later polls start from the stored cursor). */
  lookbackMs: number;
  /** Each poll re-reads this much before the cursor: rows become queryable a while after their ingestion time. */
  overlapMs: number;
  /** Log Analytics' time limit for one query. */
  timeoutSeconds: number;
  pageSize?: number;
  /** How long this replica may poll before another takes over; renewed every page and every poll. */
  leaseMs?: number;
  clock?: () => Date;
}

export type PollReport =
  { kind: 'busy' } | { kind: 'failed'; reason: string; handled: number } | { kind: 'polled'; rows: number; created: number; updated: number; unchanged: number; malformed: number };

export type SecurityIncidentPoller = LeasedPoller<PollReport>;

interface Candidate {
  ingestedAt: string;
  incidentName: string;
  row: Record<string, unknown>;
  incident?: Incident;
  problem?: string;
}

/** Log Analytics did not answer, or answered with an error: the poll is retried, the cursor stays. */
class PollFailed extends Error {}

const isoDuration = (ms: number) => `PT${Math.max(60, Math.ceil(ms / 1000))}S`;

/**
 * Reads the workspace's `SecurityIncident` table so that incidents created while the webhook was
 * down, or never set up, still become cards. Each poll takes the latest row of every incident
 * ingested since the stored cursor (less an overlap for rows that show up late), page by page in
 * ingestion order, and hands each to `ingestIncident` — the webhook's path, whose store ignores
 * replays and older versions. The cursor only moves past rows that were handled (stored, or
 * skipped as malformed); a failure leaves it where it was and the next poll reads them again.
 * One replica polls at a time under a lease in the store; a replica that dies loses its lease.
 *
 * SecurityIncident has no entities: they come from each incident's alerts (`AlertIds` →
 * SecurityAlert `Entities`) when Log Analytics accepts that query; when it refuses it (no
 * SecurityAlert table, no permission) the incident is stored without entities, and an alert not in
 * SecurityAlert yet adds its entities only with the incident's next change.
 */
export function createSecurityIncidentPoller(o: SecurityIncidentPollerOptions): SecurityIncidentPoller {
  const pageSize = o.pageSize ?? 200;
  const leaseMs = o.leaseMs ?? 2 * o.intervalMs + 2 * (o.timeoutSeconds + 2) * 1000;
  const clock = o.clock ?? (() => new Date());
  const db = o.ingest.db;

  const query = async (kql: string, fromMs: number, maxRows: number) => {
    try {
      return await o.runner.run(kql, { timespan: isoDuration(clock().getTime() - fromMs), maxRows, timeoutSeconds: o.timeoutSeconds });
    } catch (e) {
      throw new PollFailed(`Log Analytics: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  const candidateOf = (row: Record<string, unknown>): Candidate => {
    const base = { ingestedAt: String(row.IngestedAt ?? ''), incidentName: typeof row.IncidentName === 'string' ? row.IncidentName : '', row };
    try {
      return { ...base, incident: parseIncident(incidentResourceFromRow(row, o.workspace), { portalUrl: o.ingest.portalUrl }) };
    } catch (e) {
      if (isAppError(e) && e.code === 'BAD_REQUEST') return { ...base, problem: e.message };
      throw e;
    }
  };

  /** The alerts of these incidents by id; empty when Log Analytics refuses the query itself. */
  const alertsOf = async (candidates: Candidate[]): Promise<Map<string, unknown>> => {
    const ids = [...new Set(candidates.flatMap((c) => alertIdsOf(c.row)))];
    const alerts = new Map<string, unknown>();
    if (ids.length === 0) return alerts;
    // Alerts are generated before their incident; the oldest incident decides how far back to look.
    const oldest = Math.min(...candidates.map((c) => Date.parse(c.incident!.createdAt)));
    const fromMs = Math.max(clock().getTime() - MAX_ALERT_AGE_MS, oldest - DAY_MS);
    for (let i = 0; i < ids.length; i += ALERT_IDS_PER_QUERY) {
      const chunk = ids.slice(i, i + ALERT_IDS_PER_QUERY);
      let table;
      try {
        table = await o.runner.run(securityAlertQuery(chunk), { timespan: isoDuration(clock().getTime() - fromMs), maxRows: chunk.length, timeoutSeconds: o.timeoutSeconds });
      } catch (e) {
        const refused = e instanceof KqlError && e.status !== undefined && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429;
        if (!refused) throw new PollFailed(`Log Analytics (SecurityAlert): ${e instanceof Error ? e.message : String(e)}`);
        o.logger.warn({ status: e.status }, `SecurityAlert query refused, incidents are stored without entities: ${e.message}`);
        return alerts;
      }
      for (const row of rowObjects(table)) if (typeof row.SystemAlertId === 'string') alerts.set(row.SystemAlertId.toLowerCase(), alertFromRow(row));
    }
    return alerts;
  };

  const pass = async ({ position, saveProgress, saveProgressQuietly }: PollPass): Promise<PollReport> => {
    const startedAt = clock().getTime();
    const from = new Date(position.getTime() - o.overlapMs);
    const counts = { rows: 0, created: 0, updated: 0, unchanged: 0, malformed: 0 };
    let handledUpTo: Date | undefined;
    try {
      let after: PageKey | undefined;
      for (;;) {
        // Rows become visible up to a day after TimeGenerated at worst; the time range only lets the service skip older data.
        const table = await query(securityIncidentQuery({ from, after, take: pageSize }), from.getTime() - DAY_MS, pageSize);
        const candidates = rowObjects(table).map(candidateOf);
        const valid = candidates.filter((c) => c.incident);
        const stored = await storedModificationTimes(
          db,
          valid.map((c) => c.incident!.key),
        );
        // Re-read rows (the overlap) and versions the webhook already stored cost no alert query, and
        // an equal version never replaces what the webhook stored with the poller's rendering of it.
        const isNew = (i: Incident) => {
          const at = stored.get(i.key);
          return at === undefined || at === null || i.lastModifiedAt === undefined || Date.parse(i.lastModifiedAt) > at.getTime();
        };
        const fresh = valid.filter((c) => isNew(c.incident!));
        const alerts = await alertsOf(fresh);
        for (const c of candidates) {
          if (c.problem !== undefined) {
            counts.malformed += 1;
            o.logger.warn({ ingestedAt: c.ingestedAt, fields: badFields(c.problem) }, 'skipped a SecurityIncident row that is not a valid incident');
          } else if (!fresh.includes(c)) {
            counts.unchanged += 1;
          } else {
            const ids = alertIdsOf(c.row);
            const resource = incidentResourceFromRow(
              c.row,
              o.workspace,
              ids.flatMap((id) => (alerts.has(id) ? [alerts.get(id)] : [])),
            );
            const { outcome } = await ingestIncident(resource, o.ingest);
            counts[outcome.kind === 'stale' ? 'unchanged' : outcome.kind] += 1;
          }
          counts.rows += 1;
          const at = new Date(c.ingestedAt);
          if (!Number.isNaN(at.getTime())) handledUpTo = at;
        }
        if (handledUpTo) await saveProgress(handledUpTo);
        const last = candidates.at(-1);
        if (!last || candidates.length < pageSize) break;
        after = { ingestedAt: last.ingestedAt, incidentName: last.incidentName };
      }
      // Everything visible when the poll began is handled, so a quiet workspace's window need not
      // grow; one overlap short of that, for the clocks of Log Analytics and this host to differ.
      await saveProgress(new Date(startedAt - o.overlapMs));
      if (counts.created + counts.updated + counts.malformed > 0) o.logger.info(counts, 'SecurityIncident poll');
      return { kind: 'polled', ...counts };
    } catch (e) {
      // What was handled stays handled; the rest is read again next time.
      if (handledUpTo && !(e instanceof LeaseLost)) await saveProgressQuietly(handledUpTo);
      const reason = e instanceof Error ? e.message : String(e);
      o.logger.warn({ handled: counts.rows }, `SecurityIncident poll failed, will try again: ${reason}`);
      return { kind: 'failed', reason, handled: counts.rows };
    }
  };

  return createLeasedPoller({ db, cursor: o.cursor ?? SECURITY_INCIDENT_CURSOR, what: 'SecurityIncident', intervalMs: o.intervalMs, leaseMs, lookbackMs: o.lookbackMs, logger: o.logger, pass });
}
