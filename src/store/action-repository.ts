import crypto from 'node:crypto';
import { targetKey, type ActionKind, type ActionTarget } from '../actions/action-kinds';
import type { ActionRecord, ActionState } from '../actions/approval-policy';
import type { ActionFailure, ActionResult, ActionResults } from '../actions/action-results';
import type { Db, Queryable } from './db';
import { queueActionEffects, queueChatCardRedraw } from '../actions/action-effects';
import { audit } from './audit-repository';

/** Where a request made in chat shows its card, so that later changes update it in place. */
export interface ActionCardRef {
  serviceUrl: string;
  conversationId: string;
  activityId?: string;
}

interface ActionCommon extends ActionRecord {
  id: string;
  incidentKey?: string;
  target: ActionTarget;
  /** The action this one undoes (an unblock undoes a block). */
  undoOf?: string;
  requestedByName?: string;
  approvalsNeeded: number;
  decidedBy?: string;
  decidedReason?: string;
  attempts: number;
  version: number;
  card?: ActionCardRef;
  createdAt: Date;
  startedAt?: Date;
  endedAt?: Date;
}

/** Waiting for a decision, or decided and not yet ended: nothing to show for it yet. */
export interface OpenAction extends ActionCommon {
  state: 'requested' | 'approved' | 'queued' | 'running';
  result?: undefined;
}
/** Done: what the executor answered (the Undo reads it back through {@link resultOf}). */
export interface SucceededAction extends ActionCommon {
  state: 'succeeded';
  result: ActionResult;
}
export interface FailedAction extends ActionCommon {
  state: 'failed';
  result: ActionFailure;
}
/** Ended without running: rejected or cancelled (by `decidedBy`), or expired undecided. */
export interface ClosedAction extends ActionCommon {
  state: 'rejected' | 'cancelled' | 'expired';
  result?: undefined;
}

/** An action as stored, one shape per state. */
export type StoredAction = OpenAction | SucceededAction | FailedAction | ClosedAction;

/** The executor's answer of a succeeded `kind` action (not an Undo), typed; undefined otherwise. */
export function resultOf<K extends ActionKind>(a: StoredAction | undefined, kind: K): ActionResults[K] | undefined {
  if (!a || a.state !== 'succeeded' || a.kind !== kind || a.undoOf) return undefined;
  return a.result as ActionResults[K];
}

interface ActionRow {
  id: string;
  incident_key: string | null;
  kind: ActionKind;
  target: ActionTarget;
  undo_of: string | null;
  state: ActionState;
  requested_by: string;
  requested_by_name: string | null;
  approvals: string[];
  approvals_needed: number;
  decided_by: string | null;
  decided_reason: string | null;
  expires_at: Date;
  attempts: number;
  version: number;
  result: unknown;
  card: ActionCardRef | null;
  created_at: Date;
  started_at: Date | null;
  ended_at: Date | null;
}

const toAction = (r: ActionRow): StoredAction => {
  const common = toCommon(r);
  switch (r.state) {
    case 'succeeded':
      return { ...common, state: r.state, result: (r.result ?? {}) as ActionResult };
    case 'failed':
      return { ...common, state: r.state, result: { error: String((r.result as Partial<ActionFailure> | null)?.error ?? 'no reason given') } };
    case 'rejected':
    case 'cancelled':
    case 'expired':
      return { ...common, state: r.state };
    default:
      return { ...common, state: r.state };
  }
};

const toCommon = (r: ActionRow): ActionCommon => ({
  id: r.id,
  incidentKey: r.incident_key ?? undefined,
  kind: r.kind,
  target: r.target,
  undoOf: r.undo_of ?? undefined,
  state: r.state,
  requestedBy: r.requested_by,
  requestedByName: r.requested_by_name ?? undefined,
  approvals: r.approvals,
  approvalsNeeded: r.approvals_needed,
  decidedBy: r.decided_by ?? undefined,
  decidedReason: r.decided_reason ?? undefined,
  expiresAt: new Date(r.expires_at),
  attempts: r.attempts,
  version: r.version,
  card: r.card ?? undefined,
  createdAt: new Date(r.created_at),
  startedAt: r.started_at ? new Date(r.started_at) : undefined,
  endedAt: r.ended_at ? new Date(r.ended_at) : undefined,
});

/** The action as changed, its effects (card redraws, write-back) queued in the same transaction. */
async function changed(tx: Queryable, row: ActionRow): Promise<StoredAction> {
  const action = toAction(row);
  await queueActionEffects(tx, action);
  return action;
}

const OPEN_STATES = `('requested', 'approved', 'queued', 'running')`;
/** States in which an action did nothing and never will. */
const GIVEN_UP_STATES = `('rejected', 'expired', 'cancelled', 'failed')`;
/** Serialises requests while the hourly brake counts, so that two at once cannot both slip under it. */
const REQUEST_LOCK = 72_101_004;

export interface NewAction {
  incidentKey?: string;
  target: ActionTarget;
  undoOf?: string;
  requestedBy: string;
  requestedByName?: string;
  /** Approvers needed besides the requester; 0 means the request is approved as it is made. */
  approvalsNeeded: number;
  expiresAt: Date;
  card?: ActionCardRef;
}

export type RequestOutcome =
  | { kind: 'created'; action: StoredAction }
  /** The same thing is already asked for (or running) on this incident: that request stands. */
  | { kind: 'existing'; action: StoredAction }
  | { kind: 'over-limit'; count: number };

/**
 * Records a request (the click on Block IP): nothing runs until it is approved. One open request
 * per target and incident — a double click or a second analyst gets the open one back. With
 * `maxPerHour`, the request is refused once that many actions were asked for in the past hour.
 */
export async function requestAction(db: Db, a: NewAction, o: { now: Date; maxPerHour?: number }): Promise<RequestOutcome> {
  const key = targetKey(a.target, a.undoOf !== undefined);
  /** What already stands in the way: an open request for the same target, or an Undo of the same action. */
  const standing = async (tx: Queryable) => {
    const open = await tx.query<ActionRow>(`SELECT * FROM actions WHERE COALESCE(incident_key, '') = $1 AND target_key = $2 AND state IN ${OPEN_STATES}`, [a.incidentKey ?? '', key]);
    if (open.rows[0] || !a.undoOf) return open.rows[0];
    return (await tx.query<ActionRow>(`SELECT * FROM actions WHERE undo_of = $1 AND state NOT IN ${GIVEN_UP_STATES}`, [a.undoOf])).rows[0];
  };
  return db.transaction(async (tx) => {
    const before = await standing(tx);
    if (before) return { kind: 'existing' as const, action: toAction(before) };
    if (o.maxPerHour !== undefined) {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [REQUEST_LOCK]);
      const count = await countActionsSince(tx, new Date(o.now.getTime() - 3_600_000));
      if (count >= o.maxPerHour) return { kind: 'over-limit' as const, count };
    }
    const approved = a.approvalsNeeded <= 0;
    // A race lost to another process shows as no row (any unique index: open target, or Undo); the
    // winner may even have finished meanwhile, so look again and, if nothing stands, insert again.
    for (let tries = 0; tries < 3; tries++) {
      const r = await tx.query<ActionRow>(
        `INSERT INTO actions (id, incident_key, kind, target, target_key, undo_of, state, requested_by, requested_by_name, approvals_needed, expires_at, next_attempt_at, card, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT DO NOTHING RETURNING *`,
        [
          crypto.randomUUID(),
          a.incidentKey ?? null,
          a.target.kind,
          a.target,
          key,
          a.undoOf ?? null,
          approved ? 'approved' : 'requested',
          a.requestedBy,
          a.requestedByName ?? null,
          Math.max(0, a.approvalsNeeded),
          a.expiresAt,
          approved ? o.now : null,
          a.card ?? null,
          o.now,
        ],
      );
      const row = r.rows[0];
      if (!row) {
        const winner = await standing(tx);
        if (winner) return { kind: 'existing' as const, action: toAction(winner) };
        continue;
      }
      await audit(tx, a.requestedBy, 'action.requested', a.incidentKey ?? row.id, { action: row.id, kind: row.kind, target: a.target, undoOf: a.undoOf, approvalsNeeded: row.approvals_needed });
      if (approved) await audit(tx, a.requestedBy, 'action.approved', a.incidentKey ?? row.id, { action: row.id, approvals: [], policy: 'no approval needed for this kind' });
      const action = toAction(row);
      await queueActionEffects(tx, action);
      return { kind: 'created' as const, action };
    }
    throw new Error('could not record the request: it kept colliding with others; try again');
  });
}

/**
 * Adds one approval, as one conditional update: only a `requested`, unexpired action, never by its
 * requester, never twice by one person; the approval that reaches the number needed moves it to
 * `approved`. However many clicks race — double clicks, two approvers, two processes — each
 * approval counts once and the action becomes approved exactly once. Undefined: not allowed now.
 */
export async function approveAction(db: Db, id: string, approver: string, now: Date): Promise<StoredAction | undefined> {
  return db.transaction(async (tx) => {
    const r = await tx.query<ActionRow>(
      `UPDATE actions SET approvals = approvals || to_jsonb($2::text),
         state = CASE WHEN jsonb_array_length(approvals) + 1 >= approvals_needed THEN 'approved' ELSE state END,
         next_attempt_at = CASE WHEN jsonb_array_length(approvals) + 1 >= approvals_needed THEN $3::timestamptz ELSE next_attempt_at END,
         version = version + 1, updated_at = now()
       WHERE id = $1 AND state = 'requested' AND expires_at > $3 AND lower(requested_by) <> lower($2)
         AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(approvals) a WHERE lower(a) = lower($2))
       RETURNING *`,
      [id, approver, now],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    await audit(tx, approver, row.state === 'approved' ? 'action.approved' : 'action.approval-added', row.incident_key ?? row.id, { action: row.id, approvals: row.approvals });
    return changed(tx, row);
  });
}

/**
 * Ends an open request without running it: `rejected` by an approver, `cancelled` by its
 * requester. Once, and only while it is still `requested` and unexpired.
 */
export async function closeRequest(db: Db, id: string, o: { state: 'rejected' | 'cancelled'; by: string; reason?: string; now: Date }): Promise<StoredAction | undefined> {
  return db.transaction(async (tx) => {
    const r = await tx.query<ActionRow>(
      `UPDATE actions SET state = $2, decided_by = $3, decided_reason = $4, version = version + 1, updated_at = now()
       WHERE id = $1 AND state = 'requested' AND expires_at > $5 RETURNING *`,
      [id, o.state, o.by, o.reason ?? null, o.now],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    await audit(tx, o.by, `action.${o.state}`, row.incident_key ?? id, { action: id, ...(o.reason ? { reason: o.reason } : {}) });
    return changed(tx, row);
  });
}

/** Requests nobody decided on in time become `expired`; returns them so their cards can say so. */
export async function expireRequests(db: Db, now: Date): Promise<StoredAction[]> {
  return db.transaction(async (tx) => {
    const r = await tx.query<ActionRow>(`UPDATE actions SET state = 'expired', version = version + 1, updated_at = now() WHERE state = 'requested' AND expires_at <= $1 RETURNING *`, [now]);
    const expired: StoredAction[] = [];
    for (const row of r.rows) {
      await audit(tx, 'vigil', 'action.expired', row.incident_key ?? row.id, { action: row.id });
      expired.push(await changed(tx, row));
    }
    return expired;
  });
}

const ABANDONED = 'the process running it stopped before it finished (crash, restart or lost database)';

/**
 * Claims approved actions to run (`FOR UPDATE SKIP LOCKED`, with a lease). An action left
 * `running` by a process that died is claimed again once its lease has run out — its lost attempt
 * recorded as abandoned — unless it already had `maxAttempts`: see {@link failAbandonedActions}.
 */
export async function claimRunnableActions(db: Db, limit: number, leaseMs: number, now: Date, maxAttempts = 5): Promise<StoredAction[]> {
  return db.transaction(async (tx) => {
    const r = await tx.query<ActionRow & { was: ActionState; lost_since: Date }>(
      `WITH due AS (
         SELECT id, state AS was, updated_at AS lost_since FROM actions
         WHERE (state = 'approved' AND next_attempt_at <= $3) OR (state = 'running' AND claimed_until < $3 AND attempts < $4)
         ORDER BY next_attempt_at NULLS FIRST LIMIT $1 FOR UPDATE SKIP LOCKED)
       UPDATE actions a SET state = 'running', attempts = a.attempts + 1, version = a.version + 1, updated_at = now(),
         started_at = COALESCE(a.started_at, $3::timestamptz),
         claimed_until = $3::timestamptz + make_interval(secs => $2::double precision / 1000)
       FROM due WHERE a.id = due.id RETURNING a.*, due.was, due.lost_since`,
      [limit, leaseMs, now, maxAttempts],
    );
    const claimed: StoredAction[] = [];
    for (const row of r.rows) {
      if (row.was === 'running') await recordAbandoned(tx, row, now);
      claimed.push(await changed(tx, row));
    }
    return claimed;
  });
}

/** The attempt a dead process left: an attempt row and an audit row, so the record has no gap. */
async function recordAbandoned(tx: Queryable, row: ActionRow & { lost_since: Date }, now: Date): Promise<void> {
  const lost = row.attempts - 1;
  await tx.query('INSERT INTO action_attempts (action_id, attempt, started_at, ended_at, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6)', [
    row.id,
    lost,
    row.lost_since,
    now,
    'abandoned',
    { error: ABANDONED },
  ]);
  await audit(tx, 'vigil', 'action.attempt-abandoned', row.incident_key ?? row.id, { action: row.id, attempt: lost });
}

/**
 * Actions whose every attempt died with its process (a run that crashes Vigil each time must not
 * loop for ever): once `maxAttempts` were claimed and the last lease ran out, they end `failed`.
 */
export async function failAbandonedActions(db: Db, now: Date, maxAttempts = 5): Promise<StoredAction[]> {
  return db.transaction(async (tx) => {
    const r = await tx.query<ActionRow & { lost_since: Date }>(
      `WITH due AS (SELECT id, updated_at AS lost_since FROM actions WHERE state = 'running' AND claimed_until < $1 AND attempts >= $2 FOR UPDATE SKIP LOCKED)
       UPDATE actions a SET state = 'failed', result = $3, claimed_until = NULL, ended_at = $1, version = a.version + 1, updated_at = now()
       FROM due WHERE a.id = due.id RETURNING a.*, due.lost_since`,
      [now, maxAttempts, { error: `gave up after ${maxAttempts} attempts: ${ABANDONED}` }],
    );
    for (const row of r.rows) {
      await tx.query('INSERT INTO action_attempts (action_id, attempt, started_at, ended_at, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6)', [
        row.id,
        row.attempts,
        row.lost_since,
        now,
        'abandoned',
        { error: ABANDONED },
      ]);
      await audit(tx, 'vigil', 'action.failed', row.incident_key ?? row.id, {
        action: row.id,
        kind: row.kind,
        target: row.target,
        attempts: row.attempts,
        error: (row.result as { error: string }).error,
      });
    }
    return Promise.all(r.rows.map((row) => changed(tx, row)));
  });
}

/**
 * Keeps a running action ours while its executor still works (a Defender isolation may take
 * minutes): without it another process would take it over when the lease ran out. False once it
 * is no longer ours.
 */
export async function extendLease(db: Queryable, a: StoredAction, leaseMs: number, now: Date): Promise<boolean> {
  const r = await db.query(`UPDATE actions SET claimed_until = $2::timestamptz + make_interval(secs => $3::double precision / 1000) WHERE id = $1 AND state = 'running' AND attempts = $4`, [
    a.id,
    now,
    leaseMs,
    a.attempts,
  ]);
  return r.rowCount > 0;
}

/** One attempt at running an action, kept for the audit whatever its outcome. */
export interface Attempt {
  started: Date;
  ended: Date;
  outcome: 'succeeded' | 'retrying' | 'failed';
  detail: unknown;
}

const insertAttempt = (tx: Queryable, a: StoredAction, at: Attempt) =>
  tx.query('INSERT INTO action_attempts (action_id, attempt, started_at, ended_at, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6)', [a.id, a.attempts, at.started, at.ended, at.outcome, at.detail]);

/**
 * Records the attempt and puts the running action back to be tried again at `at`, in one
 * transaction; only the process holding it can (false otherwise — its attempt is still recorded:
 * it did happen).
 */
export async function retryActionAt(db: Db, a: StoredAction, attempt: Attempt, at: Date): Promise<boolean> {
  return db.transaction(async (tx) => {
    await insertAttempt(tx, a, attempt);
    const r = await tx.query(
      `UPDATE actions SET state = 'approved', claimed_until = NULL, next_attempt_at = $2, version = version + 1, updated_at = now() WHERE id = $1 AND state = 'running' AND attempts = $3 RETURNING *`,
      [a.id, at, a.attempts],
    );
    const row = r.rows[0] as ActionRow | undefined;
    if (row) await changed(tx, row);
    return row !== undefined;
  });
}

/**
 * Records the attempt and how the running action ended, in one transaction; undefined if it was
 * not ours to end (another process took it over).
 */
export async function finishAction(db: Db, a: StoredAction, attempt: Attempt, o: { state: 'succeeded' | 'failed'; result: unknown }): Promise<StoredAction | undefined> {
  return db.transaction(async (tx) => {
    await insertAttempt(tx, a, attempt);
    const r = await tx.query<ActionRow>(
      `UPDATE actions SET state = $2, result = $3, claimed_until = NULL, ended_at = $4, version = version + 1, updated_at = now()
       WHERE id = $1 AND state = 'running' AND attempts = $5 RETURNING *`,
      [a.id, o.state, o.result, attempt.ended, a.attempts],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    await audit(tx, 'vigil', `action.${o.state}`, row.incident_key ?? row.id, {
      action: row.id,
      kind: row.kind,
      target: row.target,
      attempts: row.attempts,
      ...(o.state === 'failed' ? { error: (o.result as { error?: string }).error } : {}),
    });
    return changed(tx, row);
  });
}

/**
 * Where chat shows the request's card. Its first redraw is queued with it: the action may have
 * moved on (approved, running) while the card that shows its request was being sent.
 */
export async function setActionCard(db: Db, id: string, card: ActionCardRef): Promise<void> {
  await db.transaction(async (tx) => {
    const r = await tx.query('UPDATE actions SET card = $2 WHERE id = $1', [id, card]);
    if (r.rowCount > 0 && card.activityId) await queueChatCardRedraw(tx, id);
  });
}

export async function getAction(db: Queryable, id: string): Promise<StoredAction | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  const r = await db.query<ActionRow>('SELECT * FROM actions WHERE id = $1', [id]);
  return r.rows[0] ? toAction(r.rows[0]) : undefined;
}

/** The short reference chat shows (`a1b2c3d4`): the id's first eight hex digits, if they name one action. */
export async function findActionByRef(db: Queryable, ref: string): Promise<StoredAction | undefined> {
  if (!/^[0-9a-f]{8}$/i.test(ref)) return undefined;
  const r = await db.query<ActionRow>(`SELECT * FROM actions WHERE id::text LIKE $1 LIMIT 2`, [`${ref.toLowerCase()}%`]);
  return r.rows.length === 1 ? toAction(r.rows[0]!) : undefined;
}

/** The standing Undo of an action (requested, running or done), if any. */
export async function findUndo(db: Queryable, actionId: string): Promise<StoredAction | undefined> {
  const r = await db.query<ActionRow>(`SELECT * FROM actions WHERE undo_of = $1 AND state NOT IN ${GIVEN_UP_STATES} ORDER BY created_at DESC LIMIT 1`, [actionId]);
  return r.rows[0] ? toAction(r.rows[0]) : undefined;
}

export async function listIncidentActions(db: Queryable, incidentKey: string): Promise<StoredAction[]> {
  const r = await db.query<ActionRow>('SELECT * FROM actions WHERE incident_key = $1 ORDER BY created_at, id', [incidentKey]);
  return r.rows.map(toAction);
}

/** Requests waiting for a decision or running, oldest first. */
export async function listOpenActions(db: Queryable, limit = 20): Promise<StoredAction[]> {
  const r = await db.query<ActionRow>(`SELECT * FROM actions WHERE state IN ${OPEN_STATES} ORDER BY created_at LIMIT $1`, [limit]);
  return r.rows.map(toAction);
}

/** Actions requested in the hour before `now`: what the hourly brake counts. */
export async function countActionsSince(db: Queryable, since: Date): Promise<number> {
  const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM actions WHERE created_at > $1 AND state NOT IN ('rejected', 'expired', 'cancelled')`, [since]);
  return r.rows[0]?.n ?? 0;
}

export interface AuditRow {
  at: Date;
  actor: string;
  action: string;
  details: Record<string, unknown>;
}

/** The audit trail of an incident (or of one action without an incident), oldest first. */
export async function listAudit(db: Queryable, target: string, limit = 200): Promise<AuditRow[]> {
  const r = await db.query<AuditRow>('SELECT at, actor, action, details FROM audit WHERE target = $1 ORDER BY id LIMIT $2', [target, limit]);
  return r.rows.map((row) => ({ ...row, at: new Date(row.at) }));
}

export async function listAttempts(db: Queryable, actionId: string) {
  const r = await db.query<{ attempt: number; started_at: Date; ended_at: Date | null; outcome: string; detail: unknown }>(
    'SELECT attempt, started_at, ended_at, outcome, detail FROM action_attempts WHERE action_id = $1 ORDER BY id',
    [actionId],
  );
  return r.rows;
}
