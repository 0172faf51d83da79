import type { Logger } from '../logger';
import type { Incident } from '../incidents/incident';
import { portalNameOf } from '../incidents/incident';
import { FinalJobError, type JobHandler } from '../jobs/job-runner';
import { getAction } from '../store/action-repository';
import { getIncidentCase, saveIncidentCase } from '../store/case-repository';
import type { Db, Queryable } from '../store/db';
import { bumpIncidentVersionIn, getCurrentSeverity, getIncident } from '../store/incident-repository';
import { actionComment } from '../actions/action-comment';
import { createCaseWatch } from './case-watch';
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
  /** How often open cases are read again (see `createCaseWatch`); 0 or absent: only at the incident's changes. */
  watchMs?: number;
}

const ASSESSED = new Set(['Critical', 'High']);

/**
 * Cases for incidents: the policy decides when one opens, the job runner opens it (once), adds
 * Vigil's actions as notes and resolves it when the incident closes; the card shows its number.
 */
export function createIncidentCases(o: IncidentCasesOptions) {
  /** One read: the stored assessment, and whether the incident has a case (recorded or on its way). */
  const caseStateIn = async (tx: Queryable, key: string) => {
    const r = await tx.query<{ assessed_severity: string | null }>('SELECT assessed_severity FROM incidents WHERE key = $1', [key.toLowerCase()]);
    const a = r.rows[0]?.assessed_severity;
    return { assessed: a && ASSESSED.has(a) ? (a as 'Critical' | 'High') : undefined, hasCase: await hasCase(tx, key) };
  };

  /**
   * In the transaction that stores the incident (or its new assessment): resolve its case when it is
   * closed, read its case again when it has one (resolved on the other side?), else open one when the
   * policy says so — so the ask commits with the change, and a crash loses both or neither. Safe to
   * call any number of times (the jobs are keyed by the incident). A new incident has no case and no
   * assessment yet: it costs no read, and an insert only when the policy opens one.
   */
  const askIn = async (tx: Queryable, incident: Incident, o2: { created?: boolean; assessed?: 'Critical' | 'High' } = {}): Promise<void> => {
    const known = o2.created ? undefined : await caseStateIn(tx, incident.key);
    if (incident.status === 'Closed') {
      if (known) await asking(incident.key, queueCaseResolve(tx, incident));
      return;
    }
    if (known?.hasCase) return asking(incident.key, queueCaseRefresh(tx, incident.key));
    if (!o.policy) return;
    const decision = shouldOpenCase(incident, o2.assessed ?? known?.assessed, o.policy);
    if (decision.open) await asking(incident.key, queueCaseCreate(tx, incident.key, `the case policy: ${decision.because}`));
  };

  /**
   * The incidents whose commit asked for a case job: only their commit kicks the job runner, so a
   * storm of incidents no policy opens a case for costs it no look at the queue. A commit that
   * failed leaves its key behind; the runner's poll covers a kick that came too early.
   */
  const asked = new Set<string>();
  const asking = async (key: string, queued: Promise<void>) => {
    await queued;
    if (asked.size > 10_000) asked.clear();
    asked.add(key);
  };

  /** After the commit that stored the incident: runs the jobs it asked for now, rather than at the runner's next poll. */
  const kick = (incidentKey: string) => {
    if (asked.delete(incidentKey)) o.kickJobs();
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

  return {
    system: o.system.system,
    /** The periodic look at open cases (start and stop it with the app); undefined when off. */
    watch: o.watchMs ? createCaseWatch({ db: o.db, intervalMs: o.watchMs, logger: o.logger, kickJobs: o.kickJobs }) : undefined,
    askIn,
    kick,
    open,
    jobHandlers: { [CASE_JOBS.create]: create, [CASE_JOBS.note]: note, [CASE_JOBS.resolve]: resolve, [CASE_JOBS.refresh]: refresh } as Record<string, JobHandler>,
  };
}

export type IncidentCases = ReturnType<typeof createIncidentCases>;
