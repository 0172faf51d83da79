import { PGlite, TransactionAbortedError, parse, protocol } from '@electric-sql/pglite';
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
 * Statements kept prepared. Vigil's SQL is a fixed set of texts (a few hundred); the cap is there
 * so that a text built from data could never grow the cache without end: past it, statements are
 * parsed each time, as before.
 */
const MAX_PREPARED = 2_000;

/** PostgreSQL's "cached plan must not change result type": the statement's tables changed shape. */
const PLAN_CHANGED = '0A000';

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

interface Prepared {
  name: string;
  paramTypes: number[];
}

/**
 * Embedded PostgreSQL in a folder (or `memory://`). PGlite has one connection, so statements
 * from concurrent callers run one after another; transactions hold that connection exclusively.
 *
 * Each statement is prepared once (PostgreSQL's extended protocol: Parse and Describe under a name)
 * and from then on only bound and executed, in one exchange with the engine. PGlite's own `query`
 * parses, analyses and plans the text every time, in six exchanges: on this kind of machine the
 * outbox's claim took 1.7 ms that way and 0.3 ms prepared, and a card's way through the store is
 * some twenty statements.
 */
export async function createPgliteDb(dataDir: string): Promise<Db> {
  if (!dataDir.startsWith('memory://')) fs.mkdirSync(dataDir, { recursive: true });
  const pg = await PGlite.create(dataDir);
  const prepared = new Map<string, Prepared>();
  let nextName = 0;

  /** One holder of the connection at a time: a statement, or a transaction from BEGIN to its end. */
  let tail: Promise<void> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn);
    tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  };

  const exchange = (messages: Uint8Array[]) => pg.execProtocolStream(concat(messages), { syncToFs: false });

  const prepare = async (sql: string): Promise<Prepared> => {
    const known = prepared.get(sql);
    if (known) return known;
    const name = prepared.size < MAX_PREPARED ? `vigil_${++nextName}` : '';
    const described = await exchange([protocol.serialize.parse({ name, text: sql }), protocol.serialize.describe({ type: 'S', name }), protocol.serialize.sync()]);
    const statement = { name, paramTypes: parse.parseDescribeStatementResults(described) };
    if (name) prepared.set(sql, statement);
    return statement;
  };

  const forget = async (sql: string) => {
    const statement = prepared.get(sql);
    if (!statement) return;
    prepared.delete(sql);
    await exchange([protocol.serialize.close({ type: 'S', name: statement.name }), protocol.serialize.sync()]).catch(() => undefined);
  };

  /** One statement on the connection the caller holds: bound, described, executed and synced in one exchange. */
  const run = async <T>(sql: string, params: unknown[]) => {
    const statement = await prepare(sql);
    const values = params.map((value, n) => {
      if (value === null || value === undefined) return null;
      const serialize = pg.serializers[statement.paramTypes[n]!];
      return serialize ? (serialize(value) as string) : String(value);
    });
    const messages = await exchange([
      protocol.serialize.bind({ statement: statement.name, values }),
      protocol.serialize.describe({ type: 'P' }),
      protocol.serialize.execute({}),
      protocol.serialize.sync(),
    ]);
    const [result] = parse.parseResults(messages, pg.parsers);
    const rows = (result?.rows ?? []) as T[];
    // PGlite reports affectedRows 0 for a SELECT; pg's rowCount counts the rows returned.
    return { rows, rowCount: result && result.fields.length > 0 ? rows.length : (result?.affectedRows ?? 0) };
  };

  /**
   * `run`, and once more if the statement's tables changed shape since it was prepared (a
   * migration). Inside a transaction that error has aborted it, so there it is only forgotten.
   */
  const runOrReprepare = async <T>(sql: string, params: unknown[], inTransaction: boolean) => {
    try {
      return await run<T>(sql, params);
    } catch (e) {
      if ((e as { code?: string }).code !== PLAN_CHANGED) throw e;
      await forget(sql);
      if (inTransaction) throw e;
      return run<T>(sql, params);
    }
  };

  /** The statements of a transaction (`ended` says when it is over) or, without one, of a caller holding the connection alone. */
  const statementsOf = (ended?: () => boolean): Queryable => ({
    async exec(sql: string) {
      if (ended?.()) throw new Error('the transaction has ended');
      await pg.exec(sql);
      await yieldToIo();
    },
    async query<T>(sql: string, params: unknown[] = []) {
      if (ended?.()) throw new Error('the transaction has ended');
      const r = await runOrReprepare<T>(sql, params, ended !== undefined);
      await yieldToIo();
      return r;
    },
  });
  const alone = statementsOf();

  return {
    driver: 'pglite',
    exec: (sql) =>
      exclusive(async () => {
        await alone.exec(sql);
        await pg.syncToFs();
      }),
    query: <T>(sql: string, params?: unknown[]) =>
      exclusive(async () => {
        const r = await alone.query<T>(sql, params);
        await pg.syncToFs();
        return r;
      }),
    transaction: (fn) =>
      exclusive(async () => {
        let ended = false;
        await exchange([protocol.serialize.query('BEGIN')]);
        try {
          const result = await fn(statementsOf(() => ended));
          const committed = await exchange([protocol.serialize.query('COMMIT')]);
          // COMMIT of a transaction a statement had aborted (its error caught and ignored) rolls back.
          if (committed.some((m) => m.name === 'commandComplete' && (m as { text?: string }).text === 'ROLLBACK')) throw new TransactionAbortedError();
          return result;
        } catch (e) {
          await exchange([protocol.serialize.query('ROLLBACK')]).catch(() => undefined);
          throw e;
        } finally {
          ended = true;
          await pg.syncToFs();
        }
      }),
    close: () => exclusive(() => pg.close()),
  };
}
