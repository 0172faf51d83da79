import crypto from 'node:crypto';
import pg from 'pg';
import { migrate, migrations } from '../../src/store/migrations';
import { createPgDb } from '../../src/store/pg-db';

const adminUrl = process.env.DATABASE_URL;
const describeWithPostgres = adminUrl ? describe : describe.skip;

const admin = async (sql: string) => {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(sql).finally(() => c.end());
};

describeWithPostgres('replicas starting at once on a new PostgreSQL database', () => {
  const database = `vigil_migrate_${crypto.randomBytes(4).toString('hex')}`;
  beforeAll(() => admin(`CREATE DATABASE ${database}`));
  afterAll(() => admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));

  it('migrate it once between them: every version applied by exactly one, none fails', async () => {
    const url = new URL(adminUrl!);
    url.pathname = `/${database}`;
    const dbs = await Promise.all(Array.from({ length: 4 }, () => createPgDb(url.toString())));
    try {
      const applied = await Promise.all(dbs.map((db) => migrate(db)));
      expect(applied.flat().sort((a, b) => a - b)).toEqual(migrations.map((m) => m.version));
      const r = await dbs[0]!.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(r.rows.map((x) => x.version)).toEqual(migrations.map((m) => m.version));
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });
});
