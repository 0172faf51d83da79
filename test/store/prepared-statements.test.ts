import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Db } from '../../src/store/db';
import { createPgDb } from '../../src/store/pg-db';
import { createPgliteDb } from '../../src/store/pglite-db';
import { storeDrivers } from '../helpers/store-drivers';

/**
 * Both drivers prepare each statement once and then only bind and run it (issue 15: PGlite parsed
 * and planned every text each time, 1.7 ms for the outbox's claim against 0.3 ms prepared). What
 * that must not change: a statement's answer after a migration, errors, and one holder of PGlite's
 * connection at a time.
 */
describe.each(storeDrivers())('prepared statements on $name', (driver) => {
  let db: Db;
  let url: string | undefined;
  let drop: () => Promise<void>;
  /** One connection, so that a statement prepared on it is the one run again (PostgreSQL: per connection). */
  let single: Db;

  beforeAll(async () => {
    ({ db, url, drop } = await driver.open());
    single = url ? await createPgDb(url, { max: 1, min: 1 }) : db;
  });
  afterAll(async () => {
    if (single !== db) await single.close();
    await drop();
  });
  beforeEach(async () => {
    await db.exec('DROP TABLE IF EXISTS prepared_probe; CREATE TABLE prepared_probe (a int PRIMARY KEY)');
  });

  it('prepares a statement once and runs it again by its name', async () => {
    const sql = 'SELECT count(*)::int AS n FROM prepared_probe WHERE a > $1';
    const found = await db.transaction(async (tx) => {
      for (let n = 0; n < 3; n++) expect((await tx.query<{ n: number }>(sql, [n])).rows).toEqual([{ n: 0 }]);
      return (await tx.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements')).rows.map((r) => r.statement);
    });
    expect(found.filter((s) => s === sql)).toHaveLength(1);
  });

  it('answers with the new columns after a migration changed the table under a prepared statement', async () => {
    await single.query('INSERT INTO prepared_probe (a) VALUES ($1)', [1]);
    expect((await single.query('SELECT * FROM prepared_probe')).rows).toEqual([{ a: 1 }]);
    await single.exec('ALTER TABLE prepared_probe ADD COLUMN b text DEFAULT $$seven$$');
    expect((await single.query('SELECT * FROM prepared_probe')).rows).toEqual([{ a: 1, b: 'seven' }]);
    // And once more under the statement's new name.
    expect((await single.query('SELECT * FROM prepared_probe')).rows).toEqual([{ a: 1, b: 'seven' }]);
  });

  it("keeps the database's error code, and the statement works again after it", async () => {
    const insert = 'INSERT INTO prepared_probe (a) VALUES ($1)';
    await db.query(insert, [5]);
    await expect(db.query(insert, [5])).rejects.toMatchObject({ code: '23505' });
    await db.query(insert, [6]);
    expect((await db.query<{ a: number }>('SELECT a FROM prepared_probe ORDER BY a')).rows).toEqual([{ a: 5 }, { a: 6 }]);
  });

  it('refuses to report as committed a transaction a failed statement had aborted', async () => {
    const done = db.transaction(async (tx) => {
      await tx.query('INSERT INTO prepared_probe (a) VALUES ($1)', [1]);
      await tx.query('SELECT 1 / $1::int', [0]).catch(() => undefined);
      return 'committed';
    });
    await expect(done).rejects.toThrow(/roll/i);
    expect((await db.query('SELECT * FROM prepared_probe')).rows).toEqual([]);
  });

  it("never runs another caller's statement inside an open transaction", async () => {
    let inserted!: () => void;
    const insertedYet = new Promise<void>((r) => (inserted = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const rolledBack = db.transaction(async (tx) => {
      await tx.query('INSERT INTO prepared_probe (a) VALUES ($1)', [1]);
      inserted();
      await released;
      throw new Error('rolled back on purpose');
    });
    await insertedYet;
    const seen = db.query<{ n: number }>('SELECT count(*)::int AS n FROM prepared_probe');
    setTimeout(release, 50);
    await expect(rolledBack).rejects.toThrow('rolled back on purpose');
    expect((await seen).rows).toEqual([{ n: 0 }]);
  });
});

describe('PGlite in a folder', () => {
  it('keeps what was written through prepared statements across a restart', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-pglite-'));
    try {
      const first = await createPgliteDb(dir);
      await first.exec('CREATE TABLE kept (a int, note jsonb)');
      await first.query('INSERT INTO kept VALUES ($1, $2)', [1, { said: 'outside a transaction' }]);
      await first.transaction((tx) => tx.query('INSERT INTO kept VALUES ($1, $2)', [2, { said: 'in one' }]));
      await first.close();
      const again = await createPgliteDb(dir);
      expect((await again.query('SELECT a, note FROM kept ORDER BY a')).rows).toEqual([
        { a: 1, note: { said: 'outside a transaction' } },
        { a: 2, note: { said: 'in one' } },
      ]);
      await again.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
