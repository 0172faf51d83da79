import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { backoffDelay } from '../http/retry-policy';
import { isUpstreamError } from '../http/upstream-error';
import { createClaimLoop } from './claim-loop';
import type { Db } from '../store/db';
import { claimJobs, completeJob, deadLetterJob, msUntilNextJob, pruneJobs, retryJobLater, type Job } from '../store/job-queue';

/** Carries out one job. Throwing retries it later; throwing {@link FinalJobError} dead-letters it now. */
export type JobHandler = (job: Job) => Promise<void>;

/** A failure no retry can mend (the incident is gone, the payload is not understood). */
export class FinalJobError extends Error {}

/** Not now, and not a failure: a send budget is used up for `waitMs`. The attempt does not count. */
export class JobPaced extends Error {
  constructor(readonly waitMs: number) {
    super(`paced: send budget used up for ${Math.round(waitMs)} ms`);
  }
}

export interface JobRunnerOptions {
  db: Db;
  handlers: Record<string, JobHandler>;
  logger: Logger;
  metrics?: Pick<Metrics, 'jobsRun'>;
  /** How long a claim holds a job; a process that dies mid-job leaves it to another after this. */
  leaseMs?: number;
  pollMs?: number;
  concurrency?: number;
  /** Attempts before a job is dead-lettered. */
  maxAttempts?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  random?: () => number;
}

/** Done jobs are kept a week (their keys still dedupe replays), dead letters a month. */
const KEEP = { doneMs: 7 * 86_400_000, deadMs: 30 * 86_400_000 };
const PRUNE_EVERY_MS = 15 * 60_000;

/** Upstream answers that say the same request will never succeed. */
const FINAL_STATUSES = new Set([400, 401, 403, 404, 405, 410, 413, 422]);

/**
 * Runs the durable jobs of the kinds it has handlers for, in every process that runs one: the
 * queue's lease and `SKIP LOCKED` keep two replicas off one job. Backoff is exponential with full
 * jitter, never sooner than an upstream's `Retry-After`; after `maxAttempts` a job is dead, with
 * its last error, for `/metrics` and the logs to show.
 */
export function createJobRunner(o: JobRunnerOptions) {
  const kinds = Object.keys(o.handlers);
  const leaseMs = o.leaseMs ?? 60_000;
  const pollMs = o.pollMs ?? 1000;
  const concurrency = o.concurrency ?? 8;
  const maxAttempts = o.maxAttempts ?? 8;
  const baseBackoffMs = o.baseBackoffMs ?? 1000;
  const maxBackoffMs = o.maxBackoffMs ?? 300_000;
  const random = o.random ?? Math.random;

  const backoff = (job: Job, e: unknown) => backoffDelay(job.attempts, { baseMs: baseBackoffMs, maxMs: maxBackoffMs, retryAfterMs: isUpstreamError(e) ? e.retryAfterMs : undefined }, random);

  const isFinal = (e: unknown) => e instanceof FinalJobError || (isUpstreamError(e) && FINAL_STATUSES.has(e.status));

  const runJob = async (job: Job) => {
    if (job.takenOver) o.logger.warn({ job: job.kind, key: job.key, attempts: job.attempts }, 'job taken over after its lease ran out (the process running it stopped)');
    try {
      await o.handlers[job.kind]!(job);
      await completeJob(o.db, job);
      o.metrics?.jobsRun.inc({ kind: job.kind, outcome: 'done' });
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (e instanceof JobPaced) {
        await retryJobLater(o.db, job, e.waitMs, message, { uncounted: true });
        o.metrics?.jobsRun.inc({ kind: job.kind, outcome: 'paced' });
        return;
      }
      if (isFinal(e) || job.attempts >= maxAttempts) {
        o.logger.error({ job: job.kind, key: job.key, attempts: job.attempts, error: message }, 'job dead-lettered');
        await deadLetterJob(o.db, job, message);
        o.metrics?.jobsRun.inc({ kind: job.kind, outcome: 'dead' });
        return;
      }
      const delayMs = backoff(job, e);
      o.logger.info({ job: job.kind, key: job.key, attempts: job.attempts, retryInMs: delayMs, error: message }, 'job failed; will retry');
      await retryJobLater(o.db, job, delayMs, message);
      o.metrics?.jobsRun.inc({ kind: job.kind, outcome: 'retry' });
    }
  };

  const loop = createClaimLoop({
    claim: async (room) => (room > 0 ? (await claimJobs(o.db, kinds, room, leaseMs)).map((job) => () => runJob(job)) : []),
    concurrency,
    pollMs,
    nextDueMs: () => msUntilNextJob(o.db, kinds),
    onLookFailed: (e) => o.logger.error({ err: e }, 'job runner could not read its queue; retrying'),
    onRunCrashed: (e) => o.logger.error({ err: e }, 'job run crashed; its lease will run out and it will be tried again'),
  });

  /** Runs every due job now and waits for them, until none is due; how many ran (tests, and `tick` callers). */
  const runDue = async (): Promise<number> => {
    let ran = 0;
    for (;;) {
      const jobs = await claimJobs(o.db, kinds, concurrency, leaseMs);
      if (jobs.length === 0) return ran;
      await Promise.all(jobs.map(runJob));
      ran += jobs.length;
    }
  };

  let pruner: NodeJS.Timeout | undefined;
  const prune = () =>
    pruneJobs(o.db, KEEP).then(
      (n) => n > 0 && o.logger.info({ removed: n }, 'forgot finished jobs'),
      (e: unknown) => o.logger.warn({ err: e }, 'could not prune finished jobs'),
    );

  return {
    runDue,
    /** Look now (a job was just written) rather than at the next poll. */
    kick: loop.kick,
    start(): void {
      loop.start();
      pruner = setInterval(() => void prune(), PRUNE_EVERY_MS);
      pruner.unref();
    },
    /** Stops claiming and waits for the jobs already running. */
    async stop(): Promise<void> {
      clearInterval(pruner);
      await loop.stop();
    },
    /** Resolves once nothing of its kinds is queued or running (tests, and shutdown). */
    async idle(): Promise<void> {
      for (;;) {
        await loop.settled();
        if ((await msUntilNextJob(o.db, kinds)) === undefined) {
          await loop.settled();
          return;
        }
        loop.kick();
        await new Promise((r) => setTimeout(r, Math.min(pollMs, 50)));
      }
    },
  };
}
