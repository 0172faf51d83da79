import { isAppError } from '../errors';
import type { GraphSecurityClient } from '../graph/graph-security-client';
import { parseGraphIncident } from '../incidents/parse-graph-incident';
import type { Incident } from '../incidents/incident';
import type { Logger } from '../logger';
import { storedModificationTimes } from '../store/incident-repository';
import { storeIncident, type IngestDeps } from './ingest-incident';
import { badFields, createLeasedPoller, type LeasedPoller, type PollPass } from './leased-poller';
import type { PollReport } from './security-incident-poller';

export const GRAPH_INCIDENT_CURSOR = 'graph-security-incidents';

export interface GraphIncidentPollerOptions {
  client: GraphSecurityClient;
  /** The ingest path every way in shares: store, then `onChange` (outbox, enrichment, paging). */
  ingest: Pick<IngestDeps, 'db' | 'onChange' | 'alsoInCommit'>;
  logger: Logger;
  intervalMs: number;
  /** How far back the very first poll reads (later polls start from the stored cursor). */
  lookbackMs: number;
  /** Each poll re-reads this much before the cursor: for the clocks of Graph and this host, and late updates. */
  overlapMs: number;
  pageSize?: number;
  leaseMs?: number;
  clock?: () => Date;
}

export type GraphIncidentPoller = LeasedPoller<PollReport>;

/**
 * Polls Microsoft Graph for Defender XDR unified incidents — what replaces the retired alert
 * subscription — `lastUpdateDateTime ge` the stored cursor less an overlap, with their alerts, every
 * page, and hands each to the same store the webhook and the SecurityIncident poller use, under
 * its Graph key. Graph promises no order, so the cursor moves only once every page is read (to
 * when the poll began); a failed page leaves it where it was and the next poll reads the window
 * again, which the store shrugs off (replays are unchanged, older versions stale). One replica
 * polls at a time, under the lease on the cursor.
 */
export function createGraphIncidentPoller(o: GraphIncidentPollerOptions): GraphIncidentPoller {
  const pageSize = o.pageSize ?? 50;
  const leaseMs = o.leaseMs ?? 2 * o.intervalMs + 60_000;
  const clock = o.clock ?? (() => new Date());
  const db = o.ingest.db;

  const pass = async ({ position, saveProgress }: PollPass): Promise<PollReport> => {
    const startedAt = clock();
    const counts = { rows: 0, created: 0, updated: 0, unchanged: 0, malformed: 0 };
    try {
      for await (const page of o.client.incidentsUpdatedSince(new Date(position.getTime() - o.overlapMs), pageSize)) {
        const parsed = page.map((raw): { incident: Incident } | { problem: string } => {
          try {
            return { incident: parseGraphIncident(raw) };
          } catch (e) {
            if (isAppError(e) && e.code === 'BAD_REQUEST') return { problem: e.message };
            throw e;
          }
        });
        const incidents = parsed.flatMap((p) => ('incident' in p ? [p.incident] : []));
        const stored = await storedModificationTimes(
          db,
          incidents.map((i) => i.key),
        );
        for (const p of parsed) {
          counts.rows += 1;
          if ('problem' in p) {
            counts.malformed += 1;
            o.logger.warn({ fields: badFields(p.problem) }, 'skipped a Graph incident that is not a valid incident');
            continue;
          }
          // The overlap re-reads incidents already stored at this version: no write, no card.
          const at = stored.get(p.incident.key);
          if (at && p.incident.lastModifiedAt && Date.parse(p.incident.lastModifiedAt) <= at.getTime()) {
            counts.unchanged += 1;
            continue;
          }
          const { outcome } = await storeIncident(p.incident, o.ingest);
          counts[outcome.kind === 'stale' ? 'unchanged' : outcome.kind] += 1;
        }
        // Renews the lease page by page without moving the cursor (it never moves back).
        await saveProgress(position);
      }
      await saveProgress(startedAt);
      if (counts.created + counts.updated + counts.malformed > 0) o.logger.info(counts, 'Graph incident poll');
      return { kind: 'polled', ...counts };
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      o.logger.warn({ handled: counts.rows }, `Graph incident poll failed, will try again: ${reason}`);
      return { kind: 'failed', reason, handled: counts.rows };
    }
  };

  return createLeasedPoller({ db, cursor: GRAPH_INCIDENT_CURSOR, what: 'Graph incident', intervalMs: o.intervalMs, leaseMs, lookbackMs: o.lookbackMs, logger: o.logger, pass });
}
