import type { Queryable } from './db';

/**
 * The one durable queue for effects that must follow a state change: written in the same
 * transaction as the change (so a crash loses neither or both), claimed with a lease and
 * `SKIP LOCKED` (so replicas share it and none runs a job twice at once), retried later, and
 * dead-lettered with a reason after too many attempts. Times are the database's clock, so
 * replicas with skewed clocks agree on when a lease ran out.
 */
export interface NewJob {
  kind: string;
  /** Names the effect: asking for the same key again while it is queued changes nothing. */
  key: string;
  payload: Record<string, unknown>;
  /** Not before this many milliseconds from now. */
  delayMs?: number;
  /**
   * A job whose effect shows the latest state (a card redraw): a done, dead or running job with
   * this key is queued again with the new payload, instead of the ask being dropped as a repeat.
   */
  again?: boolean;
}

export interface Job {
  id: string;
  kind: string;
  key: string;
  payload: Record<string, unknown>;
  /** This claim's attempt, the first being 1. */
  attempts: number;
  generation: number;
  /** An earlier claim's lease ran out before it finished: that process died or stalled mid-run. */
  takenOver: boolean;
}

interface JobRow {
  id: string;
  kind: string;
  key: string;
  payload: Record<string, unknown>;
  attempts: number;
  generation: number;
  taken_over: boolean;
}

const ms = (n: number) => `make_interval(secs => ${n}::double precision / 1000)`;

export async function enqueueJob(q: Queryable, job: NewJob): Promise<void> {
  await q.query(
    `INSERT INTO jobs (kind, key, payload, due_at) VALUES ($1, $2, $3, now() + ${ms(job.delayMs ?? 0)})
     ON CONFLICT (key) DO ${
       job.again
         ? `UPDATE SET payload = EXCLUDED.payload, state = 'queued', generation = jobs.generation + 1, last_error = NULL,
              -- A running claim keeps its attempt number: it is how that claim knows the row is still its own.
              attempts = CASE WHEN jobs.state = 'queued' AND jobs.leased_until > now() THEN jobs.attempts ELSE 0 END,
              finished_at = NULL, due_at = LEAST(CASE WHEN jobs.state = 'queued' THEN jobs.due_at END, EXCLUDED.due_at)`
         : 'NOTHING'
     }`,
    [job.kind, job.key, job.payload],
  );
}

/** Claims up to `limit` due jobs of `kinds` for `leaseMs`, oldest due first. */
export async function claimJobs(q: Queryable, kinds: readonly string[], limit: number, leaseMs: number): Promise<Job[]> {
  if (limit <= 0 || kinds.length === 0) return [];
  const r = await q.query<JobRow>(
    `UPDATE jobs j SET leased_until = now() + ${ms(leaseMs)}, attempts = j.attempts + 1
     FROM (
       SELECT id, leased_until IS NOT NULL AS taken_over FROM jobs
       WHERE state = 'queued' AND kind = ANY($1) AND due_at <= now() AND (leased_until IS NULL OR leased_until < now())
       ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED
     ) due
     WHERE j.id = due.id
     RETURNING j.id, j.kind, j.key, j.payload, j.attempts, j.generation, due.taken_over`,
    [kinds, limit],
  );
  return r.rows.map((row) => ({ id: String(row.id), kind: row.kind, key: row.key, payload: row.payload, attempts: row.attempts, generation: row.generation, takenOver: row.taken_over }));
}

/** This claim's row: each claim takes the next attempt number, so a claim whose lease ran out and was taken over no longer matches. */
const OURS = `id = $1 AND state = 'queued' AND attempts = $2`;

/**
 * Done, unless it was asked for again while it ran: then it stays queued (lease released) for the
 * newer ask. False when the job is no longer this claim's (its lease ran out and another took it).
 */
export async function completeJob(q: Queryable, job: Job): Promise<boolean> {
  const r = await q.query(
    `UPDATE jobs SET leased_until = NULL,
       state = CASE WHEN generation = $3 THEN 'done' ELSE state END,
       finished_at = CASE WHEN generation = $3 THEN now() ELSE finished_at END
     WHERE ${OURS}`,
    [job.id, job.attempts, job.generation],
  );
  return r.rowCount > 0;
}

/** Back in the queue, due in `delayMs`, with why it failed; a newer ask made meanwhile is due now. `uncounted`: a wait, not a failed attempt. */
export async function retryJobLater(q: Queryable, job: Job, delayMs: number, error: string, o: { uncounted?: boolean } = {}): Promise<void> {
  await q.query(
    `UPDATE jobs SET leased_until = NULL, last_error = $4${o.uncounted ? ', attempts = attempts - 1' : ''},
       due_at = CASE WHEN generation = $3 THEN now() + ${ms(delayMs)} ELSE now() END
     WHERE ${OURS}`,
    [job.id, job.attempts, job.generation, error.slice(0, 500)],
  );
}

/** Given up on, with the reason kept for whoever reads the dead letters; a newer ask made meanwhile still runs. */
export async function deadLetterJob(q: Queryable, job: Job, reason: string): Promise<void> {
  await q.query(
    `UPDATE jobs SET leased_until = NULL, last_error = $4,
       state = CASE WHEN generation = $3 THEN 'dead' ELSE 'queued' END,
       finished_at = CASE WHEN generation = $3 THEN now() ELSE NULL END
     WHERE ${OURS}`,
    [job.id, job.attempts, job.generation, reason.slice(0, 500)],
  );
}

/** Milliseconds until the next queued job of `kinds` is due (0: now), or undefined when none is queued. */
export async function msUntilNextJob(q: Queryable, kinds: readonly string[]): Promise<number | undefined> {
  const r = await q.query<{ wait: number | null }>(
    // Not GREATEST(0, …) in SQL: it ignores a NULL, and "nothing queued" would read as "due now".
    `SELECT (EXTRACT(EPOCH FROM (min(GREATEST(due_at, COALESCE(leased_until, due_at))) - now())) * 1000)::float8 AS wait
     FROM jobs WHERE state = 'queued' AND kind = ANY($1)`,
    [kinds],
  );
  const wait = r.rows[0]?.wait;
  return wait === null || wait === undefined ? undefined : Math.max(0, Number(wait));
}

export interface JobCount {
  kind: string;
  state: 'queued' | 'done' | 'dead';
  count: number;
}

/** How many jobs of each kind are queued, done and dead: what `/metrics` shows. */
export async function countJobs(q: Queryable): Promise<JobCount[]> {
  const r = await q.query<{ kind: string; state: JobCount['state']; count: number }>('SELECT kind, state, count(*)::int AS count FROM jobs GROUP BY kind, state');
  return r.rows;
}

export interface DeadJob {
  kind: string;
  key: string;
  attempts: number;
  lastError: string | null;
  finishedAt: Date;
}

export async function listDeadJobs(q: Queryable, limit = 50): Promise<DeadJob[]> {
  const r = await q.query<{ kind: string; key: string; attempts: number; last_error: string | null; finished_at: Date }>(
    `SELECT kind, key, attempts, last_error, finished_at FROM jobs WHERE state = 'dead' ORDER BY finished_at DESC LIMIT $1`,
    [limit],
  );
  return r.rows.map((row) => ({ kind: row.kind, key: row.key, attempts: row.attempts, lastError: row.last_error, finishedAt: new Date(row.finished_at) }));
}

/**
 * Forgets finished jobs: done ones after `doneMs`, dead letters after `deadMs` (kept longer, for
 * whoever investigates). Their keys are free again then, which is harmless: every effect is safe to
 * repeat, and nothing asks for a job of that age again. How many were removed.
 */
export async function pruneJobs(q: Queryable, o: { doneMs: number; deadMs: number }): Promise<number> {
  const r = await q.query(
    `DELETE FROM jobs
     WHERE (state = 'done' AND finished_at < now() - make_interval(secs => $1::double precision / 1000))
        OR (state = 'dead' AND finished_at < now() - make_interval(secs => $2::double precision / 1000))`,
    [o.doneMs, o.deadMs],
  );
  return r.rowCount;
}
