import type { Db } from './db';

export interface SendLimit {
  max: number;
  windowMs: number;
}

/** A budget every send in it counts against: a conversation's, a tenant's. */
export interface SendBudget {
  key: string;
  limits: ReadonlyArray<SendLimit>;
}

/** Sends older than the longest window Teams counts (an hour) are pruned, with room for slack. */
const KEEP_MS = 3_600_000 + 60_000;

/**
 * Takes one send slot from every budget at once, or none: resolves 0 when the send may go now (and
 * it is counted, at the database's clock), else how many ms until the tightest window has room.
 * The budgets' rows are locked for the count (always in key order, so two callers never deadlock),
 * so any number of processes on one database together stay within every window, and a restarted
 * process inherits what was sent before it. `at` pins the clock (tests); otherwise the database's.
 */
export async function takeSendSlot(db: Db, budgets: ReadonlyArray<SendBudget>, at?: Date): Promise<number> {
  const sorted = [...budgets].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const keys = sorted.map((b) => b.key);
  const rows = sorted.flatMap((b) => b.limits.map((l) => ({ key: b.key, ...l })));
  return db.transaction(async (tx) => {
    await tx.query('INSERT INTO teams_send_budgets (key) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [keys]);
    await tx.query('SELECT key FROM teams_send_budgets WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE', [keys]);
    // clock_timestamp(), not now(): the transaction may have waited for the lock.
    const t = (await tx.query<{ t: Date }>('SELECT COALESCE($1::timestamptz, clock_timestamp()) AS t', [at ?? null])).rows[0]!.t;
    const waits = await tx.query<{ wait_ms: number | null }>(
      `SELECT max(EXTRACT(EPOCH FROM (nth.sent_at + make_interval(secs => l.window_ms / 1000) - $4::timestamptz)) * 1000) AS wait_ms
       FROM unnest($1::text[], $2::int[], $3::double precision[]) AS l(key, max, window_ms)
       CROSS JOIN LATERAL (
         SELECT s.sent_at FROM teams_sends s
         WHERE s.key = l.key AND s.sent_at > $4::timestamptz - make_interval(secs => l.window_ms / 1000)
         ORDER BY s.sent_at DESC OFFSET l.max - 1 LIMIT 1
       ) nth`,
      [rows.map((r) => r.key), rows.map((r) => r.max), rows.map((r) => r.windowMs), t],
    );
    const wait = Math.max(0, Math.ceil(Number(waits.rows[0]?.wait_ms ?? 0)));
    if (wait > 0) return wait;
    await tx.query('INSERT INTO teams_sends (key, sent_at) SELECT unnest($1::text[]), $2::timestamptz', [keys, t]);
    await tx.query('DELETE FROM teams_sends WHERE key = ANY($1::text[]) AND sent_at < $2::timestamptz - make_interval(secs => $3::double precision / 1000)', [keys, t, KEEP_MS]);
    return 0;
  });
}
