import type { Db, Queryable } from './db';

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
export const takeSendSlot = (db: Db, budgets: ReadonlyArray<SendBudget>, at?: Date): Promise<number> => db.transaction((tx) => takeSendSlotIn(tx, budgets, at));

/** `takeSendSlot` inside the caller's transaction (the warm-up's, which is rolled back). */
export async function takeSendSlotIn(tx: Queryable, budgets: ReadonlyArray<SendBudget>, at?: Date): Promise<number> {
  const sorted = [...budgets].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const keys = sorted.map((b) => b.key);
  const rows = sorted.flatMap((b) => b.limits.map((l) => ({ key: b.key, ...l })));
  // Creates the budgets' rows or locks the ones there (DO UPDATE locks a row DO NOTHING would
  // leave unlocked), in key order: one statement where an insert and a lock were two.
  await tx.query('INSERT INTO teams_send_budgets (key) SELECT k FROM unnest($1::text[]) AS k ORDER BY k ON CONFLICT (key) DO UPDATE SET key = excluded.key', [keys]);
  // clock_timestamp(), not now(): the transaction may have waited for the lock.
  const r = await tx.query<{ t: Date; wait_ms: number | null }>(
    `WITH clock AS (SELECT COALESCE($4::timestamptz, clock_timestamp()) AS t)
     SELECT clock.t, (
       SELECT max(EXTRACT(EPOCH FROM (nth.sent_at + make_interval(secs => l.window_ms / 1000) - clock.t)) * 1000)
       FROM unnest($1::text[], $2::int[], $3::double precision[]) AS l(key, max, window_ms)
       CROSS JOIN LATERAL (
         SELECT s.sent_at FROM teams_sends s
         WHERE s.key = l.key AND s.sent_at > clock.t - make_interval(secs => l.window_ms / 1000)
         ORDER BY s.sent_at DESC OFFSET l.max - 1 LIMIT 1
       ) nth
     ) AS wait_ms
     FROM clock`,
    [rows.map((r) => r.key), rows.map((r) => r.max), rows.map((r) => r.windowMs), at ?? null],
  );
  const { t, wait_ms } = r.rows[0]!;
  const wait = Math.max(0, Math.ceil(Number(wait_ms ?? 0)));
  if (wait > 0) return wait;
  await tx.query(
    `WITH pruned AS (DELETE FROM teams_sends WHERE key = ANY($1::text[]) AND sent_at < $2::timestamptz - make_interval(secs => $3::double precision / 1000))
     INSERT INTO teams_sends (key, sent_at) SELECT unnest($1::text[]), $2::timestamptz`,
    [keys, t, KEEP_MS],
  );
  return 0;
}
