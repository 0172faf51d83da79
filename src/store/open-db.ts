import type { Config } from '../config';
import type { Db } from './db';
import { migrate } from './migrations';
import { createPgDb } from './pg-db';
import { createPgliteDb } from './pglite-db';

/** Opens the configured database and brings its schema up to date. */
export async function openDb(database: Config['database']): Promise<Db> {
  const db = database.kind === 'pg' ? await createPgDb(database.url) : await createPgliteDb(database.dataDir);
  await migrate(db);
  return db;
}
