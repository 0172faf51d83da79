import type { Logger } from '../logger';
import type { Incident } from '../incidents/incident';
import { portalNameOf } from '../incidents/incident';
import { FinalJobError, type JobHandler } from '../jobs/job-runner';
import { getAction } from '../store/action-repository';
import { getIncidentCase, saveIncidentCase } from '../store/case-repository';
import type { Db } from '../store/db';
import { listRecentOpenIncidentKeys } from '../store/enrichment-repository';
import { bumpIncidentVersionIn, getCurrentSeverity, getIncident } from '../store/incident-repository';
import { actionComment } from '../actions/action-comment';
import { CASE_JOBS, hasCase, queueCaseCreate, queueCaseRefresh, queueCaseResolve } from './case-jobs';
import { shouldOpenCase, type CasePolicy } from './case-policy';
import { clip, correlationIdOf, ensureCase, type CaseRef, type CaseSeverity, type CaseSystem } from './case-system';

export interface IncidentCasesOptions {
  db: Db;
  system: CaseSystem;
  /** Which incidents open a case by themselves; without one, only a responder opens one. */
  policy?: CasePolicy;
  logger: Logger;
  /** Jobs were queued: run them now rather than at the job runner's next poll. */
  kickJobs: () => void;
}

const ASSESSED = new Set(['Critical', 'High']);

/**
 * Cases for incidents: the policy decides when one opens, the job runner opens it (once), adds
 * Vigil's actions as notes and resolves it when the incident closes; the card shows its number.
 */
export function createIncidentCases(o: IncidentCasesOptions) {
  const assessedOf = async (key: string) => {
    const r = await o.db.query<{ assessed_severity: string | null }>('SELECT assessed_severity FROM incidents WHERE key = $1', [key]);
    const a = r.rows[0]?.assessed_severity;
    return a && ASSESSED.has(a) ? (a as 'Critical' | 'High') : undefined;
  };

  /**
   * The incident was stored or reassessed: open its case when the policy says so, resolve it when
   * the incident is closed. Safe to call any number of times (the jobs are keyed by the incident).
   */
  const consider = async (incident: Incident, assessed?: 'Critical' | 'High'): Promise<void> => {
    if (incident.status === 'Closed') {
      await o.db.transaction((tx) => queueCaseResolve(tx, incident));
      o.kickJobs();
      return;
    }
    // A case resolved in ServiceNow or Jira shows on the card at the incident's next change.
    if (await getIncidentCase(o.db, incident.key)) {
      await o.db.transaction((tx) => queueCaseRefresh(tx, incident.key));
      o.kickJobs();
      return;
    }
    if (!o.policy) return;
    const decision = shouldOpenCase(incident, assessed ?? (await assessedOf(incident.key)), o.policy);
    if (!decision.open) return;
    await o.db.transaction((tx) => queueCaseCreate(tx, incident.key, `the case policy: ${decision.because}`));
    o.kickJobs();
  };

  /** A responder asked for a case (`ticket <n>`, "Open ticket"): the same one job as the policy's. */
  const open = async (incidentKey: string, by: string): Promise<void> => {
    await o.db.transaction((tx) => queueCaseCreate(tx, incidentKey, `opened by ${by}`));
    o.kickJobs();
  };

  const caseOf = async (incidentKey: string): Promise<CaseRef> => {
    const c = await getIncidentCase(o.db, incidentKey);
    if (c) return c;
    // The note or the close came before the case: wait for the create job, unless it was given up on.
    if (await hasCase(o.db, incidentKey)) throw new Error('the incident’s case is not created yet');
    throw new FinalJobError('the incident has no case');
  };

  const recorded = async (incidentKey: string, c: CaseRef) => {
    await o.db.transaction(async (tx) => {
      if (await saveIncidentCase(tx, incidentKey, c)) await bumpIncidentVersionIn(tx, incidentKey);
    });
  };

  const create: JobHandler = async (job) => {
    const incidentKey = String(job.payload.incidentKey);
    if (await getIncidentCase(o.db, incidentKey)) return;
    const stored = await getIncident(o.db, incidentKey);
    if (!stored) throw new FinalJobError('the incident is no longer stored');
    const { incident } = stored;
    const severity = ((await getCurrentSeverity(o.db, incidentKey)) ?? incident.severity) as CaseSeverity;
    // One attempt here: the job runner retries with backoff, and each attempt looks before it creates.
    const { case: c, created } = await ensureCase(
      o.system,
      {
        correlationId: correlationIdOf(incidentKey),
        title: clip(`${portalNameOf(incident)} #${incident.number}: ${incident.title}`, 160),
        description: clip(`${incident.description || incident.title}\n\nOpened by Vigil: ${String(job.payload.because ?? 'on request')}.`, 4000),
        severity,
        link: { url: incident.url, text: `Open in ${portalNameOf(incident)}` },
      },
      { retry: { maxAttempts: 1 } },
    );
    o.logger.info({ incident: incident.number, case: c.number, system: c.system, created }, created ? 'case opened' : 'case found by its correlation id');
    await recorded(incidentKey, c);
  };

  const note: JobHandler = async (job) => {
    const c = await caseOf(String(job.payload.incidentKey));
    const action = await getAction(o.db, String(job.payload.actionId));
    if (!action) throw new FinalJobError('the action no longer exists');
    await o.system.addNote(c.id, await actionComment(o.db, action));
  };

  const resolve: JobHandler = async (job) => {
    const incidentKey = String(job.payload.incidentKey);
    const c = await caseOf(incidentKey);
    await recorded(incidentKey, await o.system.resolve(c.id, { notes: String(job.payload.notes) }));
  };

  const refresh: JobHandler = async (job) => {
    const incidentKey = String(job.payload.incidentKey);
    const c = await getIncidentCase(o.db, incidentKey);
    const now = c && (await o.system.get(c.id));
    if (now) await recorded(incidentKey, now);
  };

  /**
   * The policy asked again, at start-up, for open incidents changed in the last day: the ask is
   * written after the incident's commit, so a process that stopped in between left it unasked.
   */
  const resume = async (): Promise<void> => {
    for (const key of await listRecentOpenIncidentKeys(o.db, 24)) {
      const stored = await getIncident(o.db, key);
      if (stored) await consider(stored.incident);
    }
  };

  return {
    system: o.system.system,
    consider,
    resume,
    open,
    jobHandlers: { [CASE_JOBS.create]: create, [CASE_JOBS.note]: note, [CASE_JOBS.resolve]: resolve, [CASE_JOBS.refresh]: refresh } as Record<string, JobHandler>,
  };
}

export type IncidentCases = ReturnType<typeof createIncidentCases>;
