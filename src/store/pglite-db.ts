import { PGlite } from '@electric-sql/pglite';
import fs from 'node:fs';
import type { Db, Queryable } from './db';

/**
 * PGlite runs each statement on this thread, and its promise settles as a microtask: a chain of
 * statements (the outbox's claim, render and send budget) never let the event loop reach its I/O
 * phase, so requests already made waited for the whole chain — the first card's twenty statements
 * held an incident's look-ups back 20–25 ms before they left. One turn of the loop after each
 * statement lets the sockets be served in between; a statement costs about a millisecond, the turn
 * a few microseconds when nothing waits.
 */
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Embedded PostgreSQL in a folder (or `memory://`). PGlite has one connection, so statements
 * from concurrent callers run one after another; transactions hold that connection exclusively.
 */
export async function createPgliteDb(dataDir: string): Promise<Db> {
  if (!dataDir.startsWith('memory://')) fs.mkdirSync(dataDir, { recursive: true });
  const pg = await PGlite.create(dataDir);
  const wrap = (q: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    async exec(sql: string) {
      await q.exec(sql);
      await yieldToIo();
    },
    async query<T>(sql: string, params: unknown[] = []) {
      const r = await q.query<T>(sql, params);
      await yieldToIo();
      // PGlite reports affectedRows 0 for a SELECT; pg's rowCount counts the rows returned.
      return { rows: r.rows, rowCount: r.fields.length > 0 ? r.rows.length : (r.affectedRows ?? 0) };
    },
  });
  return {
    driver: 'pglite',
    ...wrap(pg),
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    close: () => pg.close(),
  };
}
