import type { Queryable } from './db';

/**
 * A row of a Teams send queue that keeps one activity up to date (an incident card in a channel,
 * a storm digest, a page card or mention): `desired_version` is what should show, `sent_version` what Teams has, and
 * `claimed_until` the lease of the process sending it. One set of writes for both queues.
 */
export type SendQueue = 'incident_cards' | 'digests' | 'page_notices';

export interface SendSlot {
  table: SendQueue;
  /** The row's key as a condition on `$1`…`$n`, and those parameters. */
  where: string;
  params: unknown[];
}

const ms = (n: number) => `make_interval(secs => $${n}::double precision / 1000)`;

/**
 * Records a delivered version. A newer one asked for meanwhile stays queued, due no sooner than
 * `spacingMs` from now: changes arriving one after another then fold into one update.
 */
export async function completeSend(q: Queryable, slot: SendSlot, version: number, activityId: string | undefined, spacingMs = 0): Promise<void> {
  const n = slot.params.length;
  await q.query(
    `UPDATE ${slot.table} SET sent_version = GREATEST(sent_version, $${n + 1}), activity_id = $${n + 2}, attempts = 0,
       claimed_until = NULL, last_error = NULL, sent_at = now(), next_attempt_at = now() + ${ms(n + 3)}
     WHERE ${slot.where}`,
    [...slot.params, version, activityId ?? null, spacingMs],
  );
}

/**
 * Puts the send back for a later attempt; nothing is ever dropped. One held back by pacing
 * (`paced`) did not fail: its attempt does not count towards the back-off.
 */
export async function retrySendLater(q: Queryable, slot: SendSlot, delayMs: number, error: string, paced = false): Promise<void> {
  const n = slot.params.length;
  await q.query(
    `UPDATE ${slot.table} SET claimed_until = NULL, last_error = $${n + 1},
       attempts = CASE WHEN $${n + 3} THEN GREATEST(attempts - 1, 0) ELSE attempts END,
       next_attempt_at = now() + ${ms(n + 2)}
     WHERE ${slot.where}`,
    [...slot.params, error.slice(0, 500), delayMs, paced],
  );
}

/** The activity is gone (deleted in Teams): post it afresh on the next attempt. */
export async function forgetSentActivity(q: Queryable, slot: SendSlot): Promise<void> {
  await q.query(`UPDATE ${slot.table} SET activity_id = NULL, claimed_until = NULL, next_attempt_at = now() WHERE ${slot.where}`, slot.params);
}

/**
 * Claims due rows of a send queue keyed by `id` (digests, page notices) for `leaseMs`, oldest due
 * first: `SKIP LOCKED` and the lease keep two processes from sending one twice. `taken_over`: the
 * row's previous lease ran out mid-send (that process died or stalled).
 */
export async function claimDueSends<Row>(q: Queryable, table: Exclude<SendQueue, 'incident_cards'>, limit: number, leaseMs: number): Promise<Array<Row & { taken_over: boolean }>> {
  if (limit <= 0) return [];
  const r = await q.query<Row & { taken_over: boolean }>(
    `UPDATE ${table} t SET claimed_until = now() + ${ms(2)}, attempts = t.attempts + 1
     FROM (
       SELECT id, claimed_until IS NOT NULL AS taken_over FROM ${table}
       WHERE sent_version < desired_version AND next_attempt_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
       ORDER BY next_attempt_at, id
       LIMIT $1 FOR UPDATE SKIP LOCKED
     ) due
     WHERE t.id = due.id
     RETURNING t.*, due.taken_over`,
    [limit, leaseMs],
  );
  return r.rows;
}
