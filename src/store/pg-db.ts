import pg from 'pg';
import type { Db, Queryable } from './db';

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
  const wrap = (c: pg.Pool | pg.PoolClient): Queryable => ({
    async exec(sql: string) {
      await c.query(sql);
    },
    async query<T>(sql: string, params: unknown[] = []) {
      const r = await c.query(sql, params);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? r.rows.length };
    },
  });
  return {
    driver: 'pg',
    ...wrap(pool),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
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
