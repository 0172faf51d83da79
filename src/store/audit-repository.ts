import type { Queryable } from './db';

/**
 * Appends one row to the audit trail. The table is append-only (a trigger refuses updates and
 * deletes), so pass the transaction of the change being recorded: the row commits with it or not at all.
 */
export async function audit(db: Queryable, actor: string, action: string, target: string, details: Record<string, unknown> = {}): Promise<void> {
  await db.query('INSERT INTO audit (actor, action, target, details) VALUES ($1, $2, $3, $4)', [actor, action, target, details]);
}
