import crypto from 'node:crypto';
import type { ActionKind, ActionTarget } from '../actions/action-kinds';
import type { ActionRecord } from '../actions/approval-policy';
import type { Db, Queryable } from './db';
import { audit } from './page-repository';

export interface StoredAction extends ActionRecord {
  id: string;
  incidentKey?: string;
  target: ActionTarget;
  approvalsNeeded: number;
  attempts: number;
  version: number;
  result?: unknown;
}

interface ActionRow {
  id: string;
  incident_key: string | null;
  kind: ActionKind;
  target: ActionTarget;
  state: StoredAction['state'];
  requested_by: string;
  approvals: string[];
  approvals_needed: number;
  expires_at: Date;
  attempts: number;
  version: number;
  result: unknown;
}

const toAction = (r: ActionRow): StoredAction => ({
  id: r.id,
  incidentKey: r.incident_key ?? undefined,
  kind: r.kind,
  target: r.target,
  state: r.state,
  requestedBy: r.requested_by,
  approvals: r.approvals,
  approvalsNeeded: r.approvals_needed,
  expiresAt: new Date(r.expires_at),
  attempts: r.attempts,
  version: r.version,
  result: r.result ?? undefined,
});

/** Records a request (the click on Block IP): nothing runs until it is approved. */
export async function requestAction(
  db: Db,
  a: { incidentKey?: string; target: ActionTarget; requestedBy: string; approvalsNeeded: number; expiresAt: Date },
): Promise<StoredAction> {
  return db.transaction(async (tx) => {
    const r = await tx.query<ActionRow>(
      `INSERT INTO actions (id, incident_key, kind, target, state, requested_by, approvals_needed, expires_at)
       VALUES ($1, $2, $3, $4, 'requested', $5, $6, $7) RETURNING *`,
      [crypto.randomUUID(), a.incidentKey ?? null, a.target.kind, a.target, a.requestedBy, a.approvalsNeeded, a.expiresAt],
    );
    await audit(tx, a.requestedBy, 'action.requested', a.incidentKey ?? r.rows[0]!.id, { action: r.rows[0]!.id, target: a.target });
    return toAction(r.rows[0]!);
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
    if (row) await audit(tx, approver, row.state === 'approved' ? 'action.approved' : 'action.approval-added', row.incident_key ?? row.id, { action: row.id, approvals: row.approvals });
    return row ? toAction(row) : undefined;
  });
}

/** Rejects a request that is still open; once. */
export async function rejectAction(db: Db, id: string, by: string, now: Date): Promise<StoredAction | undefined> {
  return db.transaction(async (tx) => {
    const r = await tx.query<ActionRow>(
      `UPDATE actions SET state = 'rejected', decided_by = $2, version = version + 1, updated_at = now()
       WHERE id = $1 AND state = 'requested' AND expires_at > $3 RETURNING *`,
      [id, by, now],
    );
    if (r.rows[0]) await audit(tx, by, 'action.rejected', r.rows[0].incident_key ?? id, { action: id });
    return r.rows[0] ? toAction(r.rows[0]) : undefined;
  });
}

/**
 * Claims approved actions to run (`FOR UPDATE SKIP LOCKED`, with a lease). An action left
 * `running` by a process that died is claimed again once its lease has run out.
 */
export async function claimRunnableActions(db: Queryable, limit: number, leaseMs: number, now: Date): Promise<StoredAction[]> {
  const r = await db.query<ActionRow>(
    `UPDATE actions a SET state = 'running', attempts = a.attempts + 1, version = a.version + 1, updated_at = now(),
       claimed_until = $3::timestamptz + make_interval(secs => $2::double precision / 1000)
     FROM (SELECT id FROM actions
           WHERE (state = 'approved' AND next_attempt_at <= $3) OR (state = 'running' AND claimed_until < $3)
           ORDER BY next_attempt_at NULLS FIRST LIMIT $1 FOR UPDATE SKIP LOCKED) due
     WHERE a.id = due.id RETURNING a.*`,
    [limit, leaseMs, now],
  );
  return r.rows.map(toAction);
}

export async function getAction(db: Queryable, id: string): Promise<StoredAction | undefined> {
  const r = await db.query<ActionRow>('SELECT * FROM actions WHERE id = $1', [id]);
  return r.rows[0] ? toAction(r.rows[0]) : undefined;
}

/** Actions requested in the hour before `now`: what the hourly brake counts. */
export async function countActionsSince(db: Queryable, since: Date): Promise<number> {
  const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM actions WHERE created_at > $1 AND state NOT IN ('rejected', 'expired', 'cancelled')`, [since]);
  return r.rows[0]?.n ?? 0;
}
