import { createApp, type App, type AppOptions } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import type { Db } from '../../src/store/db';
import { openDb } from '../../src/store/open-db';

export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789';
export const TENANT_ID = 'b28fdbfd-2b78-4f93-b0f8-8881793f0f8f';

export interface TestApp {
  app: App;
  url: string;
  db: Db;
  postIncident(body: unknown, options?: { secret?: string | null; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any }>;
  /** POSTs an activity to /api/messages the way Teams does (no JWT: local mode). */
  sendActivity(activity: unknown): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

/** One in-memory database per test file; `resetDb` empties it between tests. */
export const openTestDb = () => openDb({ kind: 'pglite', dataDir: 'memory://' });

export { emptyTables as resetDb } from './store-drivers';

/** Vigil on an ephemeral port over an in-memory PGlite (or `db`), with a silent logger. */
export async function startTestApp(env: Record<string, string> = {}, options: AppOptions & { db?: Db } = {}): Promise<TestApp> {
  const config = loadConfig({ VIGIL_WEBHOOK_SECRET: WEBHOOK_SECRET, VIGIL_DATA_DIR: 'memory://', LOG_LEVEL: 'silent', ...env });
  const db = options.db ?? (await openDb({ kind: 'pglite', dataDir: 'memory://' }));
  const app = await createApp(config, { logger: createLogger('silent'), outbox: { pollMs: 50, baseBackoffMs: 20, maxBackoffMs: 200, updateSpacingMs: 300 }, ...options, db });
  const url = await app.listen(0, '127.0.0.1');
  return {
    app,
    url,
    db,
    async postIncident(body, o = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...o.headers };
      const secret = o.secret === undefined ? WEBHOOK_SECRET : o.secret;
      if (secret !== null) headers.authorization = `Bearer ${secret}`;
      const res = await fetch(`${url}/api/incidents`, { method: 'POST', headers, body: o.raw ?? JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async sendActivity(activity) {
      const res = await fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });
      return { status: res.status, body: await res.text() };
    },
    async close() {
      await app.close();
      if (!options.db) await db.close();
    },
  };
}
