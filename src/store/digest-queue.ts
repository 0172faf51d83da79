import type { Incident } from '../incidents/incident';
import type { Queryable } from './db';
import { claimDueSends, completeSend, forgetSentActivity, retrySendLater, type SendSlot } from './send-slot';

/** One digest card that must be posted to (or updated in) its channel. */
export interface DigestJob {
  digestId: number;
  conversationId: string;
  /** Set once posted: later versions update this activity in place. */
  activityId?: string;
  version: number;
  attempts: number;
  requestedAt: Date;
  /** Its previous claim's lease ran out before the send was recorded. */
  takenOver: boolean;
}

export interface DigestLine {
  incident: Incident;
  /** Enrichment's verdict, when it has one. */
  assessedSeverity?: string;
  /** It rose to High (or was assessed High/Critical) after folding and has its own card now. */
  ownCard: boolean;
}

export interface Digest {
  id: number;
  conversationId: string;
  startedAt: Date;
  /** Takes no more lines (full, or the storm went quiet); its lines still update. */
  sealed: boolean;
  /** Newest incident first. */
  lines: DigestLine[];
}

interface DigestRow {
  id: number;
  conversation_id: string;
  activity_id: string | null;
  desired_version: number;
  attempts: number;
  requested_at: Date;
  taken_over: boolean;
}

/**
 * Claims due digests for `leaseMs`, the same way cards are claimed: `SKIP LOCKED` and the lease
 * keep two processes from posting one digest twice.
 */
export async function claimDueDigests(db: Queryable, limit: number, leaseMs: number): Promise<DigestJob[]> {
  const rows = await claimDueSends<DigestRow>(db, 'digests', limit, leaseMs);
  return rows.map((row) => ({
    digestId: Number(row.id),
    conversationId: row.conversation_id,
    activityId: row.activity_id ?? undefined,
    version: row.desired_version,
    attempts: row.attempts,
    requestedAt: new Date(row.requested_at),
    takenOver: row.taken_over,
  }));
}

const digestSlot = (job: DigestJob): SendSlot => ({ table: 'digests', where: 'id = $1', params: [job.digestId] });

/** Records a delivered digest; lines folded meanwhile stay queued, due no sooner than `spacingMs`. */
export const completeDigest = (db: Queryable, job: DigestJob, activityId: string | undefined, spacingMs = 0) => completeSend(db, digestSlot(job), job.version, activityId, spacingMs);

/** Puts a digest back for a later attempt; pacing (`paced`) does not count towards the back-off. */
export const retryDigestLater = (db: Queryable, job: DigestJob, delayMs: number, error: string, paced = false) => retrySendLater(db, digestSlot(job), delayMs, error, paced);

/** The digest's activity is gone (deleted in Teams): post it afresh on the next attempt. */
export const forgetDigestActivity = (db: Queryable, job: DigestJob) => forgetSentActivity(db, digestSlot(job));

/** A digest with its lines as they read now, or undefined if there is no such digest. */
export async function getDigest(db: Queryable, id: number): Promise<Digest | undefined> {
  const d = await db.query<{ id: number; conversation_id: string; created_at: Date; sealed: boolean }>(
    'SELECT id, conversation_id, created_at, sealed_at IS NOT NULL AS sealed FROM digests WHERE id = $1',
    [id],
  );
  const row = d.rows[0];
  if (!row) return undefined;
  const lines = await db.query<{ data: Incident; assessed_severity: string | null; own_card: boolean }>(
    `SELECT i.data, i.assessed_severity, ic.promoted_at IS NOT NULL AS own_card
     FROM incident_cards ic JOIN incidents i ON i.key = ic.incident_key
     WHERE ic.digest_id = $1
     ORDER BY i.created_at DESC, i.number DESC`,
    [id],
  );
  return {
    id: Number(row.id),
    conversationId: row.conversation_id,
    startedAt: new Date(row.created_at),
    sealed: row.sealed,
    lines: lines.rows.map((l) => ({ incident: l.data, assessedSeverity: l.assessed_severity ?? undefined, ownCard: l.own_card })),
  };
}

/** The digest that carries an incident's card in a channel, if it was folded there. */
export async function digestOfCard(db: Queryable, incidentKey: string, conversationId: string): Promise<number | undefined> {
  const r = await db.query<{ digest_id: number | null }>('SELECT digest_id FROM incident_cards WHERE incident_key = $1 AND conversation_id = $2', [incidentKey, conversationId]);
  const id = r.rows[0]?.digest_id;
  return id === null || id === undefined ? undefined : Number(id);
}
