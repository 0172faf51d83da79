import type { Logger } from '../logger';
import type { Db } from '../store/db';
import { createLeasedPoller } from '../ingest/leased-poller';
import { queueCaseRefresh } from './case-jobs';

/** The lease's name in the ingest cursors: one replica watches at a time. */
export const CASE_WATCH_CURSOR = 'case-watch';

/** A pass asks for this many refreshes at most: the newest cases first. */
const BATCH = 500;

/**
 * A case resolved in ServiceNow or Jira shows on the card without waiting for the incident to
 * change: every `intervalMs`, one replica (by the lease on its cursor) asks, in one transaction, for
 * a case.refresh of every open case of an open incident. The refresh job reads the case and redraws
 * the card (its version bumped in the same transaction) only when the case changed, so a quiet
 * pass writes nothing but the asks. Nothing is lost to a crash: the next pass asks again.
 */
export function createCaseWatch(o: { db: Db; intervalMs: number; leaseMs?: number; logger: Logger; kickJobs: () => void }) {
  return createLeasedPoller({
    db: o.db,
    cursor: CASE_WATCH_CURSOR,
    what: 'case watch',
    intervalMs: o.intervalMs,
    leaseMs: o.leaseMs ?? Math.max(2 * o.intervalMs, 60_000),
    lookbackMs: 0,
    logger: o.logger,
    pass: async (p) => {
      const asked = await o.db.transaction(async (tx) => {
        const r = await tx.query<{ incident_key: string }>(
          `SELECT c.incident_key FROM incident_cases c JOIN incidents i ON i.key = c.incident_key
           WHERE c.state = 'open' AND i.status <> 'Closed' ORDER BY c.opened_at DESC LIMIT $1`,
          [BATCH],
        );
        for (const { incident_key } of r.rows) await queueCaseRefresh(tx, incident_key);
        return r.rows.length;
      });
      await p.saveProgress(new Date());
      if (asked > 0) o.kickJobs();
      return { kind: 'watched' as const, asked };
    },
  });
}
