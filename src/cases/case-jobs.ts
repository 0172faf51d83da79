import type { Incident } from '../incidents/incident';
import { portalNameOf } from '../incidents/incident';
import type { Queryable } from '../store/db';
import { enqueueJob } from '../store/job-queue';

export const CASE_JOBS = { create: 'case.create', note: 'case.note', resolve: 'case.resolve', refresh: 'case.refresh' } as const;

const createKey = (incidentKey: string) => `case-create:${incidentKey.toLowerCase()}`;

/**
 * Asks for the incident's case, in the caller's transaction: one job per incident, however many
 * replicas, replays and clicks ask (the key is the incident's), and the job looks the case up by
 * its correlation id before it creates one.
 */
export async function queueCaseCreate(tx: Queryable, incidentKey: string, because: string): Promise<void> {
  await enqueueJob(tx, { kind: CASE_JOBS.create, key: createKey(incidentKey), payload: { incidentKey: incidentKey.toLowerCase(), because } });
}

/** The incident has a case, or one is on its way (a create job not given up on). */
export async function hasCase(q: Queryable, incidentKey: string): Promise<boolean> {
  const r = await q.query(`SELECT 1 FROM incident_cases WHERE incident_key = $1 UNION ALL SELECT 1 FROM jobs WHERE key = $2 AND kind = $3 AND state <> 'dead' LIMIT 1`, [
    incidentKey.toLowerCase(),
    createKey(incidentKey),
    CASE_JOBS.create,
  ]);
  return r.rowCount > 0;
}

/**
 * A work note (ServiceNow) or comment (Jira) for an action that ended, in the transaction of its
 * end; nothing for an incident without a case. The text is written when the job runs, from the action.
 */
export async function queueActionNote(tx: Queryable, incidentKey: string, actionId: string, state: string): Promise<void> {
  if (!(await hasCase(tx, incidentKey))) return;
  await enqueueJob(tx, { kind: CASE_JOBS.note, key: `case-note:${actionId}:${state}`, payload: { incidentKey: incidentKey.toLowerCase(), actionId } });
}

/** Resolves the incident's case, if it has one; asked again on every close (a reopened incident closes again). */
export async function queueCaseResolve(tx: Queryable, incident: Incident): Promise<void> {
  if (!(await hasCase(tx, incident.key))) return;
  const why = incident.classification ? `classified ${incident.classification}` : '';
  await enqueueJob(tx, {
    kind: CASE_JOBS.resolve,
    key: `case-resolve:${incident.key.toLowerCase()}`,
    payload: { incidentKey: incident.key.toLowerCase(), notes: `Vigil: incident #${incident.number} was closed in ${portalNameOf(incident)}${why ? ` (${why})` : ''}.` },
    again: true,
  });
}

/** Reads the case again (resolved on the other side?) so the card shows it as it is; one job per incident, asked again on each change. */
export async function queueCaseRefresh(tx: Queryable, incidentKey: string): Promise<void> {
  await enqueueJob(tx, { kind: CASE_JOBS.refresh, key: `case-refresh:${incidentKey.toLowerCase()}`, payload: { incidentKey: incidentKey.toLowerCase() }, again: true });
}
