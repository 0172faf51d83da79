import crypto from 'node:crypto';
import pg from 'pg';
import type { Db } from '../../src/store/db';
import { migrate } from '../../src/store/migrations';
import { createPgDb } from '../../src/store/pg-db';
import { createPgliteDb } from '../../src/store/pglite-db';

export interface Driver {
  name: string;
  /** A migrated database of its own (for pg: its own schema, dropped by `drop`). */
  open(): Promise<{ db: Db; url?: string; drop(): Promise<void> }>;
}

/** Empties every table between tests (cheaper than a new database: PGlite takes seconds to start). */
export async function emptyTables(db: Db): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await truncateAll(db);
    } catch (e) {
      // A TRUNCATE takes every table's lock at once; a test app's late transaction (a job, a card)
      // can meet it the other way round. PostgreSQL then picks one to fail: try again.
      if ((e as { code?: string }).code !== '40P01' || attempt >= 3) throw e;
    }
  }
}

async function truncateAll(db: Db): Promise<void> {
  await db.exec(
    'TRUNCATE action_attempts, actions, page_notices, pages, teams_users, enrichments, incident_cards, digests, conversations, incidents, audit, ingest_cursors, teams_sends, teams_send_budgets, jobs, channel_routes, pinned_routes, incident_cases RESTART IDENTITY CASCADE',
  );
}

/** PGlite always; PostgreSQL too when DATABASE_URL is set (`.ci/run` sets it). */
export function storeDrivers(): Driver[] {
  const drivers: Driver[] = [
    {
      name: 'pglite',
      async open() {
        const db = await createPgliteDb('memory://');
        await migrate(db);
        return { db, drop: () => db.close() };
      },
    },
  ];
  const url = process.env.DATABASE_URL;
  if (url) {
    drivers.push({
      name: 'postgres',
      async open() {
        const schema = `vigil_test_${crypto.randomBytes(4).toString('hex')}`;
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        await admin.query(`CREATE SCHEMA ${schema}`);
        await admin.end();
        const scopedUrl = `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
        const db = await createPgDb(scopedUrl);
        await migrate(db);
        return {
          db,
          url: scopedUrl,
          async drop() {
            await db.close();
            const c = new pg.Client({ connectionString: url });
            await c.connect();
            await c.query(`DROP SCHEMA ${schema} CASCADE`);
            await c.end();
          },
        };
      },
    });
  }
  return drivers;
}
