import crypto from 'node:crypto';
import pg from 'pg';
import type { Db, Queryable } from './db';

/**
 * Named statements: each connection parses and analyses a text once, then only binds and runs it
 * (node-postgres keeps them per connection). Vigil's SQL is a fixed set of texts; the cap is there
 * so that a text built from data could never make every connection keep it: past it, unnamed.
 */
const MAX_NAMED = 2_000;

/** PostgreSQL's "cached plan must not change result type": a migration changed the statement's tables. */
const PLAN_CHANGED = '0A000';

/**
 * A statement's name: its text's hash, and a generation bumped when the server refuses the plan it
 * holds under the old name (another replica migrated), so every connection prepares it afresh.
 */
function createStatementNames() {
  const names = new Map<string, string>();
  let generation = 0;
  return {
    nameOf(sql: string): string | undefined {
      const known = names.get(sql);
      if (known || names.size >= MAX_NAMED) return known;
      const name = `vigil_${generation}_${crypto.createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
      names.set(sql, name);
      return name;
    },
    renew(sql: string) {
      if (!names.has(sql)) return;
      generation += 1;
      names.delete(sql);
    },
  };
}

// bigint as a number, as PGlite returns it, so repositories see the same shapes on both drivers.
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text')),
};

/** What `sslmode` in the URL asks for, as node-postgres understands it (`require` verifies the server too). */
const sslFor = (mode: string | null): pg.PoolConfig['ssl'] => {
  if (mode === null || mode === 'disable') return undefined;
  if (mode === 'no-verify') return { rejectUnauthorized: false };
  return true;
};

/**
 * Pool settings for `url`. With `password` (a function) the password is asked for on every new
 * connection instead of being read from the URL: node-postgres lets the URL's empty password win
 * over a function, so the URL is taken apart here and only its parts are passed on.
 */
const poolConfig = (url: string, password?: () => Promise<string>): pg.PoolConfig => {
  if (!password) return { connectionString: url };
  const u = new URL(url);
  const options = u.searchParams.get('options');
  return {
    host: decodeURIComponent(u.hostname).replace(/^\[(.*)\]$/, '$1'),
    port: u.port ? Number(u.port) : 5432,
    database: decodeURIComponent(u.pathname.slice(1)) || undefined,
    user: decodeURIComponent(u.username),
    password,
    ssl: sslFor(u.searchParams.get('sslmode')),
    application_name: u.searchParams.get('application_name') ?? undefined,
    ...(options ? { options } : {}),
  };
};

/**
 * PostgreSQL connections kept open and warm: the whole pool. A new incident alone needs more than a
 * handful at once (its grouped commit, the outbox's claim, an answer of every provider saved as it
 * comes), and a connection opened on demand costs a backend start and that backend's first look at
 * every table — the first card after a start was three times as slow as the rest with four.
 */
export const POOL_SIZE = 10;
export const WARM_CONNECTIONS = POOL_SIZE;

/**
 * PostgreSQL server through a pool: the production driver, shared by several replicas. `password`
 * is called for each new connection (Entra ID tokens expire within the hour; the credential
 * behind it caches and renews them), so a long-lived pool keeps signing in.
 */
export async function createPgDb(url: string, options: { max?: number; min?: number; password?: () => Promise<string> } = {}): Promise<Db> {
  // `min` connections are kept open when idle (the warm-up opens them): the first incident after a
  // quiet hour does not pay for a new connection and its backend's first look at every table.
  const pool = new pg.Pool({ ...poolConfig(url, options.password), max: options.max ?? POOL_SIZE, min: options.min ?? WARM_CONNECTIONS, connectionTimeoutMillis: 5000, types });
  pool.on('error', () => undefined); // an idle client's error surfaces on the next query instead
  const statements = createStatementNames();
  const wrap = (c: pg.Pool | pg.PoolClient, inTransaction: boolean): Queryable => ({
    async exec(sql: string) {
      await c.query(sql);
    },
    async query<T>(sql: string, params: unknown[] = []) {
      const run = () => c.query({ name: statements.nameOf(sql), text: sql, values: params });
      let r: pg.QueryResult;
      try {
        r = await run();
      } catch (e) {
        if ((e as { code?: string }).code !== PLAN_CHANGED) throw e;
        statements.renew(sql);
        // The error aborted a transaction: its caller tries again, with the new name.
        if (inTransaction) throw e;
        r = await run();
      }
      return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length };
    },
  });
  return {
    driver: 'pg',
    ...wrap(pool, false),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client, true));
        const committed = await client.query('COMMIT');
        // COMMIT of a transaction a statement had aborted (its error caught and ignored) rolls back.
        if (committed.command === 'ROLLBACK') throw new Error('the transaction was rolled back: a statement in it had failed');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
