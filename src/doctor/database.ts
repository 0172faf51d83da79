import fs from 'node:fs';
import { connectDb } from '../store/open-db';
import { migrations } from '../store/migrations';
import { fail, ok, reason, type Check } from './check';

const NAME = 'database';

/** Where the database is, without a password: host and database name, or the PGlite folder. */
const where = (database: Parameters<typeof connectDb>[0]) => {
  if (database.kind === 'pglite') return `PGlite in ${database.dataDir}`;
  const u = URL.canParse(database.url) ? new URL(database.url) : undefined;
  return `PostgreSQL ${u ? `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}` : '(DATABASE_URL)'}${database.entra ? ' (Entra ID sign-in)' : ''}`;
};

/**
 * Reachable, and migrated to this build's latest version. Never migrates: Vigil does that when it
 * starts, and a preflight that changed the schema would hide the very thing it is asked about.
 */
export const checkDatabase: Check = async ({ config }) => {
  const latest = Math.max(...migrations.map((m) => m.version));
  const database = config.database;
  if (database.kind === 'pglite' && !database.dataDir.startsWith('memory://') && !fs.existsSync(database.dataDir)) {
    return [fail(NAME, `${where(database)}: no database there yet; start Vigil once (it creates and migrates it)`)];
  }
  let db;
  try {
    db = await connectDb(database);
  } catch (e) {
    return [fail(NAME, `${where(database)}: cannot open it (${reason(e)})`)];
  }
  try {
    const { rows } = await db.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
    const version = rows[0]?.version ?? 0;
    if (version === latest) return [ok(NAME, `${where(database)} reachable, schema at version ${latest} (the latest)`)];
    if (version > latest) return [fail(NAME, `${where(database)}: schema at version ${version}, newer than this build (${latest}); run the Vigil version that migrated it`)];
    return [fail(NAME, `${where(database)}: not migrated (schema at version ${version} of ${latest}); start this version of Vigil once, it migrates at start`)];
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === '42P01' || /schema_migrations/.test(reason(e))) return [fail(NAME, `${where(database)} reachable but not migrated (no schema yet); start Vigil once, it migrates at start`)];
    return [fail(NAME, `${where(database)}: ${reason(e)}`)];
  } finally {
    await db.close().catch(() => undefined);
  }
};
