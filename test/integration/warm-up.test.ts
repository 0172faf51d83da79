import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startBotConnector } from '../../sandbox/bot-connector';
import { startSandboxes } from '../../sandbox/sandboxes';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import type { EnrichmentProvider } from '../../src/enrichment/orchestrator';
import type { Incident } from '../../src/incidents/incident';
import { renderIncidentCard } from '../../src/incidents/render-incident-card';
import { createLogger } from '../../src/logger';
import { saveConversation } from '../../src/store/conversation-repository';
import type { Db, Queryable } from '../../src/store/db';
import { warmUp } from '../../src/warm-up';
import { demoIncident, subscribedChannel } from '../helpers/fixtures';
import { botInstalledInTeam } from '../helpers/teams-activities';
import { openTestDb, resetDb, startTestApp, WEBHOOK_SECRET } from '../helpers/test-app';

const provider = (name: string, kind: string): EnrichmentProvider => ({
  name,
  supports: (i) => i.kind === kind,
  lookup: () => Promise.reject(new Error('the warm-up never looks anything up')),
});

const count = async (db: Db, table: string) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

/** The database as it is, with every statement it is given (and whether inside a transaction) written down. */
const recording = (db: Db, log: Array<{ sql: string; inTransaction: boolean }>): Db => {
  const record = (q: Queryable, inTransaction: boolean): Queryable => ({
    query: (sql, params) => (log.push({ sql, inTransaction }), q.query(sql, params)),
    exec: (sql) => (log.push({ sql, inTransaction }), q.exec(sql)),
  });
  return { ...db, ...record(db, false), driver: db.driver, transaction: (fn) => db.transaction((tx) => fn(record(tx, true))), close: () => db.close() };
};

describe('warm before ready', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openTestDb();
  });
  afterAll(() => db.close());
  beforeEach(async () => {
    await resetDb(db);
    await saveConversation(db, subscribedChannel('c1'));
  });

  it('renders the card with an answer of every provider, runs the ingest, enrichment and outbox statements in a transaction it rolls back and calls its own HTTP server on several connections: nothing is stored, no card is asked for', async () => {
    const statements: Array<{ sql: string; inTransaction: boolean }> = [];
    const rendered: Incident[] = [];
    const answered: string[][] = [];
    const sockets = new Set<unknown>();
    const requests: string[] = [];
    const self = http.createServer((req, res) => (requests.push(`${req.method} ${req.url}`), sockets.add(req.socket), res.end('{}')));
    await new Promise<void>((resolve) => self.listen(0, '127.0.0.1', resolve));
    try {
      await warmUp({
        db: recording(db, statements),
        workspace: { subscriptionId: '00000000-0000-0000-0000-000000000000', resourceGroup: 'soc-rg', workspaceName: 'soc-workspace' },
        portalUrl: 'https://portal.azure.com',
        providers: [provider('VirusTotal', 'ip'), provider('Entra ID', 'account')],
        renderCard: async (incident, answers) => (rendered.push(incident), answered.push(answers.map((a) => `${a.source}:${a.entityKind}`)), renderIncidentCard(incident)),
        selfUrl: `http://127.0.0.1:${(self.address() as AddressInfo).port}`,
      });
    } finally {
      await new Promise((resolve) => self.close(resolve));
    }
    expect(statements.filter((s) => s.inTransaction).map((s) => s.sql.trim().split(/\s+/).slice(0, 3).join(' '))).toEqual(
      expect.arrayContaining(['INSERT INTO incidents', 'INSERT INTO incident_cards', 'INSERT INTO enrichments', 'UPDATE incident_cards c']),
    );
    expect(rendered.map((i) => i.title)).toEqual(['Vigil warm-up (never stored)']);
    expect(answered).toEqual([['VirusTotal:ip', 'Entra ID:account']]);
    expect(requests).toEqual(Array(16).fill('GET /healthz'));
    expect(sockets.size).toBeGreaterThan(1);
    expect(await count(db, 'incidents')).toBe(0);
    expect(await count(db, 'incident_cards')).toBe(0);
    expect(await count(db, 'enrichments')).toBe(0);
    // Its own channel and send budget went with the rollback: c1 is the only conversation.
    expect(await count(db, 'conversations')).toBe(1);
    expect(await count(db, 'teams_sends')).toBe(0);
    expect(await count(db, 'teams_send_budgets')).toBe(0);
  });

  it('says /readyz 503 "warming up" until the warm-up has run, and ready once listen has warmed it', async () => {
    const config = loadConfig({ VIGIL_WEBHOOK_SECRET: WEBHOOK_SECRET, VIGIL_DATA_DIR: 'memory://', LOG_LEVEL: 'silent' });
    // The server listening without `listen()`: templates loaded, the warm-up not run.
    const cold = await createApp(config, { logger: createLogger('silent'), db });
    await new Promise<void>((resolve) => cold.server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(cold.server.address() as AddressInfo).port}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/warming up/) });
    } finally {
      await cold.close();
    }

    const t = await startTestApp({}, { db });
    try {
      const res = await fetch(`${t.url}/readyz`);
      expect(res.status).toBe(200);
      expect(await count(db, 'incidents')).toBe(0);
      expect(await count(db, 'incident_cards')).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('leaves the first incident no statement of its own: its ingest, answers, reassessment and both sends run only what the warm-up ran', async () => {
    await resetDb(db); // only the channel Vigil is installed in: c1's service URL answers nothing
    const [connector, sandboxes] = await Promise.all([startBotConnector(), startSandboxes()]);
    const statements: Array<{ sql: string; inTransaction: boolean }> = [];
    const t = await startTestApp(sandboxes.env, { db: recording(db, statements) });
    try {
      const warmed = new Set(statements.map((s) => s.sql));
      await t.sendActivity(botInstalledInTeam(connector.url));
      await t.app.outbox.idle();
      const sinceInstall = statements.length;
      expect((await t.postIncident(demoIncident('brute-force-admin'))).status).toBe(202);
      // The card, then its one enrichment update (a verdict and the user's facts).
      await connector.waitFor('PUT', '/v3/conversations/:id/activities/:activityId');
      await t.app.enricher.idle();
      await t.app.outbox.idle();
      const incidentStatements = statements.slice(sinceInstall).map((s) => s.sql);
      expect(incidentStatements.length).toBeGreaterThan(20);
      expect([...new Set(incidentStatements.filter((sql) => !warmed.has(sql)))]).toEqual([]);
    } finally {
      await t.close();
      await Promise.all([connector.close(), sandboxes.close()]);
    }
  });
});
