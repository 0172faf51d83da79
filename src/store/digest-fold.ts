import type { Db, Queryable } from './db';

/** When a channel's lower-severity cards fold into a digest instead of going out one by one. */
export interface DigestPolicy {
  /** A channel folds once more than this many Medium/Low/Informational cards wait to be posted. */
  foldAbove: number;
  /** Lines per digest card; a storm that goes on starts another digest. */
  maxLines: number;
  /** A storm ends after this long without a fold: the digest is sealed and cards go alone again. */
  quietMs: number;
}

/** Sentinel's High, or Vigil's enrichment said High or Critical: always a card of its own. */
export const STANDS_ALONE = `(i.severity = 'High' OR COALESCE(i.assessed_severity, '') IN ('High', 'Critical'))`;

/**
 * Never posted, not folded yet, not held by a sender right now, not severe. A card waiting out
 * pacing or a back-off is still waiting: that queue is exactly the backlog a digest absorbs.
 */
const FOLDABLE = `ic.activity_id IS NULL AND ic.digest_id IS NULL AND ic.sent_version < ic.desired_version
  AND (ic.claimed_until IS NULL OR ic.claimed_until < now()) AND NOT ${STANDS_ALONE}`;

/** Arbitrary, fixed (beside the migration lock): one process folds a given channel at a time. */
const FOLD_LOCK = 72_101_008;

const quiet = '$2::double precision / 1000';

/**
 * Folds waiting lower-severity cards into digests, channel by channel, and returns how many it
 * folded. A channel folds when more than `foldAbove` such cards wait, or while a storm is on there
 * (a fold within `quietMs`), so a storm's tail joins its digest instead of trickling out alone.
 *
 * Why the backlog in the store and not the pacer's "budget used up": the pacer lives in one
 * process (each replica has its own view, a restart forgets it) and only says that this second or
 * half-minute is full, which a burst of eight cards already does. Cards piling up in the queue are
 * what every replica sees and what shows the channel falling behind — at 60 per 30 s, ten waiting
 * cards are five seconds of sending — and pacing is what makes them pile up.
 *
 * A folded card counts as delivered (through its digest); nothing is dropped. Safe to run from
 * several processes: a channel is folded under a try-lock, rows are taken `SKIP LOCKED`, and a
 * card a sender has claimed is left to it.
 */
export async function foldWaitingCards(db: Db, policy: DigestPolicy): Promise<number> {
  let folded = 0;
  for (const row of await listFoldCandidates(db, policy)) {
    if (row.waiting > policy.foldAbove || row.storm) folded += await db.transaction((tx) => foldConversation(tx, row.conversation_id, policy));
  }
  return folded;
}

/** A subscribed channel with cards that could fold now, and whether a storm is on there (a fold within `quietMs`). */
interface FoldCandidate {
  conversation_id: string;
  waiting: number;
  storm: boolean;
}

export async function listFoldCandidates(q: Queryable, policy: Pick<DigestPolicy, 'quietMs'>): Promise<FoldCandidate[]> {
  const waiting = await q.query<FoldCandidate>(
    `SELECT ic.conversation_id, count(*)::int AS waiting,
            EXISTS (SELECT 1 FROM digests d WHERE d.conversation_id = ic.conversation_id
                      AND d.last_folded_at > now() - make_interval(secs => $1::double precision / 1000)) AS storm
     FROM incident_cards ic
     JOIN incidents i ON i.key = ic.incident_key
     JOIN conversations c ON c.id = ic.conversation_id AND c.subscribed
     WHERE ${FOLDABLE}
     GROUP BY ic.conversation_id`,
    [policy.quietMs],
  );
  return waiting.rows;
}

interface LatestDigest {
  id: number;
  lines: number;
  sealed: boolean;
  recent: boolean;
}

async function foldConversation(tx: Queryable, conversationId: string, policy: DigestPolicy): Promise<number> {
  const locked = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS ok', [FOLD_LOCK, conversationId]);
  // Another process is folding this channel now: what it leaves, the next round takes.
  if (!locked.rows[0]?.ok) return 0;
  const latest = (
    await tx.query<LatestDigest>(
      `SELECT id, lines, sealed_at IS NOT NULL AS sealed, last_folded_at > now() - make_interval(secs => ${quiet}) AS recent
       FROM digests WHERE conversation_id = $1 ORDER BY id DESC LIMIT 1 FOR UPDATE`,
      [conversationId, policy.quietMs],
    )
  ).rows[0];
  // Counted again under the lock: the first look was outside it.
  const count = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM incident_cards ic JOIN incidents i ON i.key = ic.incident_key WHERE ic.conversation_id = $1 AND ${FOLDABLE}`, [
    conversationId,
  ]);
  const waiting = count.rows[0]?.n ?? 0;
  if (waiting === 0 || (waiting <= policy.foldAbove && !latest?.recent)) return 0;

  let digest: { id: number; lines: number } | undefined = latest && !latest.sealed && latest.recent && latest.lines < policy.maxLines ? latest : undefined;
  if (latest && !latest.sealed && !digest) await tx.query('UPDATE digests SET sealed_at = now() WHERE id = $1', [latest.id]);
  let folded = 0;
  for (;;) {
    if (!digest) {
      const created = await tx.query<{ id: number }>('INSERT INTO digests (conversation_id) VALUES ($1) RETURNING id', [conversationId]);
      digest = { id: Number(created.rows[0]!.id), lines: 0 };
    }
    const room = policy.maxLines - digest.lines;
    // Oldest first, so that when a storm needs several digests the first holds its start.
    const moved = await tx.query(
      `UPDATE incident_cards ic SET digest_id = $2, sent_version = ic.desired_version, sent_at = now(),
         attempts = 0, claimed_until = NULL, last_error = NULL
       FROM (
         SELECT ic.incident_key FROM incident_cards ic JOIN incidents i ON i.key = ic.incident_key
         WHERE ic.conversation_id = $1 AND ${FOLDABLE}
         ORDER BY i.created_at, i.number
         LIMIT $3 FOR UPDATE OF ic SKIP LOCKED
       ) f
       WHERE ic.conversation_id = $1 AND ic.incident_key = f.incident_key`,
      [conversationId, digest.id, room],
    );
    const n = moved.rowCount;
    if (n === 0) {
      if (digest.lines === 0) await tx.query('DELETE FROM digests WHERE id = $1', [digest.id]);
      return folded;
    }
    folded += n;
    const full = digest.lines + n >= policy.maxLines;
    await tx.query(
      `UPDATE digests SET lines = lines + $2, last_folded_at = now(), desired_version = desired_version + 1,
         requested_at = CASE WHEN sent_version < desired_version THEN requested_at ELSE now() END,
         sealed_at = CASE WHEN $3 THEN now() END
       WHERE id = $1`,
      [digest.id, n, full],
    );
    if (!full) return folded;
    digest = undefined;
  }
}

/**
 * Carries changes of folded incidents to their digests: a folded card with a newer version asked
 * for either becomes its own card (the incident rose to High, or enrichment assessed it High or
 * Critical) or counts as delivered — and either way its digest is updated, so its line shows the
 * change. One statement: the card's debt moves to the digest atomically, and `SKIP LOCKED` keeps
 * two processes from settling the same card.
 */
export async function settleFoldedCards(db: Queryable): Promise<{ promoted: number; settled: number }> {
  const r = await db.query<{ promoted: number; settled: number }>(
    `WITH pending AS (
       SELECT ic.incident_key, ic.conversation_id, ${STANDS_ALONE} AS own
       FROM incident_cards ic JOIN incidents i ON i.key = ic.incident_key
       WHERE ic.digest_id IS NOT NULL AND ic.promoted_at IS NULL AND ic.sent_version < ic.desired_version
       FOR UPDATE OF ic SKIP LOCKED
     ), settled AS (
       UPDATE incident_cards ic SET
         promoted_at = CASE WHEN p.own THEN now() END,
         sent_version = CASE WHEN p.own THEN 0 ELSE ic.desired_version END,
         requested_at = CASE WHEN p.own THEN now() ELSE ic.requested_at END,
         next_attempt_at = now(), attempts = 0, claimed_until = NULL
       FROM pending p
       WHERE ic.incident_key = p.incident_key AND ic.conversation_id = p.conversation_id
       RETURNING ic.digest_id, p.own
     ), bumped AS (
       UPDATE digests d SET desired_version = d.desired_version + 1,
         requested_at = CASE WHEN d.sent_version < d.desired_version THEN d.requested_at ELSE now() END
       WHERE d.id IN (SELECT digest_id FROM settled)
       RETURNING d.id
     )
     SELECT (count(*) FILTER (WHERE own))::int AS promoted, count(*)::int AS settled FROM settled`,
  );
  return r.rows[0] ?? { promoted: 0, settled: 0 };
}
