import { PGlite } from '@electric-sql/pglite';
import fs from 'node:fs';
import type { Db, Queryable } from './db';

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
    },
    async query<T>(sql: string, params: unknown[] = []) {
      const r = await q.query<T>(sql, params);
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
