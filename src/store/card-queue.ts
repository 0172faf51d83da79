import type { Queryable } from './db';
import { completeSend, forgetSentActivity, retrySendLater, type SendSlot } from './send-slot';
import { STANDS_ALONE } from './digest-fold';

/** One incident card that must be posted to (or updated in) one conversation. */
export interface CardJob {
  incidentKey: string;
  conversationId: string;
  /** Set once the card has been posted: later versions update this activity in place. */
  activityId?: string;
  version: number;
  attempts: number;
  /** When this version was asked for: the outbox measures delivery latency from here. */
  requestedAt: Date;
  /** Its previous claim's lease ran out before the send was recorded (that process died or stalled mid-send). */
  takenOver: boolean;
}

interface CardRow {
  incident_key: string;
  conversation_id: string;
  activity_id: string | null;
  desired_version: number;
  attempts: number;
  requested_at: Date;
  rank: number;
  due_at: Date;
  taken_over: boolean;
}

/**
 * Claims due cards for `leaseMs`, most severe incidents first (enrichment's High or Critical
 * counts as High). `SKIP LOCKED` and the lease let several processes drain one queue without
 * sending a card twice; a process that dies mid-send leaves a lease that simply runs out.
 */
export async function claimDueCards(db: Queryable, limit: number, leaseMs: number): Promise<CardJob[]> {
  const r = await db.query<CardRow>(
    `UPDATE incident_cards c SET claimed_until = now() + make_interval(secs => $2::double precision / 1000), attempts = c.attempts + 1
     FROM (
       SELECT ic.incident_key, ic.conversation_id, ic.next_attempt_at AS due_at, ic.claimed_until IS NOT NULL AS taken_over,
              CASE WHEN ${STANDS_ALONE} THEN 0 WHEN i.severity = 'Medium' THEN 1 WHEN i.severity = 'Low' THEN 2 ELSE 3 END AS rank
       FROM incident_cards ic JOIN incidents i ON i.key = ic.incident_key
       WHERE ic.sent_version < ic.desired_version AND ic.next_attempt_at <= now()
         AND (ic.claimed_until IS NULL OR ic.claimed_until < now())
         -- A card folded into a digest is delivered there, unless it has since earned its own.
         AND (ic.digest_id IS NULL OR ic.promoted_at IS NOT NULL)
       ORDER BY rank, ic.next_attempt_at
       LIMIT $1 FOR UPDATE OF ic SKIP LOCKED
     ) due
     WHERE c.incident_key = due.incident_key AND c.conversation_id = due.conversation_id
     RETURNING c.incident_key, c.conversation_id, c.activity_id, c.desired_version, c.attempts, c.requested_at, due.rank, due.due_at, due.taken_over`,
    [limit, leaseMs],
  );
  // UPDATE … RETURNING does not keep the subquery's order: sort again, most severe first.
  const rows = [...r.rows].sort((a, b) => a.rank - b.rank || new Date(a.due_at).getTime() - new Date(b.due_at).getTime());
  return rows.map((row) => ({
    incidentKey: row.incident_key,
    conversationId: row.conversation_id,
    activityId: row.activity_id ?? undefined,
    version: row.desired_version,
    attempts: row.attempts,
    requestedAt: new Date(row.requested_at),
    takenOver: row.taken_over,
  }));
}

const cardSlot = (job: CardJob): SendSlot => ({ table: 'incident_cards', where: 'incident_key = $1 AND conversation_id = $2', params: [job.incidentKey, job.conversationId] });

/** Records a delivered card; a newer version asked for meanwhile stays queued, due no sooner than `spacingMs`. */
export const completeCard = (db: Queryable, job: CardJob, activityId: string | undefined, spacingMs = 0) => completeSend(db, cardSlot(job), job.version, activityId, spacingMs);

/** Puts a card back for a later attempt; pacing (`paced`) does not count towards the back-off. */
export const retryCardLater = (db: Queryable, job: CardJob, delayMs: number, error: string, paced = false) => retrySendLater(db, cardSlot(job), delayMs, error, paced);

/**
 * A conversation out of send budget: every card of it waiting (and not claimed) falls due no
 * sooner than `delayMs` from now, in one statement, so a backlog is not claimed, read and put back
 * card by card while the budget refills.
 */
export async function deferConversationCards(db: Queryable, conversationId: string, delayMs: number): Promise<void> {
  await db.query(
    `UPDATE incident_cards SET next_attempt_at = GREATEST(next_attempt_at, now() + make_interval(secs => $2::double precision / 1000))
     WHERE conversation_id = $1 AND sent_version < desired_version AND claimed_until IS NULL`,
    [conversationId, delayMs],
  );
}

/** The card's activity is gone (deleted in Teams): post it afresh on the next attempt. */
export const forgetCardActivity = (db: Queryable, job: CardJob) => forgetSentActivity(db, cardSlot(job));

/**
 * Milliseconds until the next incident card or storm digest falls due (0 if one is due now), or
 * undefined if none waits: the outbox's one look at both of its queues, after every drain.
 */
export async function msUntilNextDelivery(db: Queryable): Promise<number | undefined> {
  const r = await db.query<{ ms: number | null }>(
    `SELECT EXTRACT(EPOCH FROM (min(due) - now())) * 1000 AS ms FROM (
       SELECT GREATEST(next_attempt_at, COALESCE(claimed_until, next_attempt_at)) AS due FROM incident_cards WHERE sent_version < desired_version
       UNION ALL
       SELECT GREATEST(next_attempt_at, COALESCE(claimed_until, next_attempt_at)) FROM digests WHERE sent_version < desired_version
     ) waiting`,
  );
  const ms = r.rows[0]?.ms;
  return ms === null || ms === undefined ? undefined : Math.max(0, Number(ms));
}

export interface CardDelivery {
  conversationId: string;
  activityId?: string;
  sentVersion: number;
  desiredVersion: number;
  attempts: number;
  lastError?: string;
}

export async function listCardDeliveries(db: Queryable, incidentKey: string): Promise<CardDelivery[]> {
  const r = await db.query<{ conversation_id: string; activity_id: string | null; sent_version: number; desired_version: number; attempts: number; last_error: string | null }>(
    'SELECT conversation_id, activity_id, sent_version, desired_version, attempts, last_error FROM incident_cards WHERE incident_key = $1 ORDER BY conversation_id',
    [incidentKey],
  );
  return r.rows.map((row) => ({
    conversationId: row.conversation_id,
    activityId: row.activity_id ?? undefined,
    sentVersion: row.sent_version,
    desiredVersion: row.desired_version,
    attempts: row.attempts,
    lastError: row.last_error ?? undefined,
  }));
}
