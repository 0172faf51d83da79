import { startStandIn, type StandIn } from '../../sandbox/stand-in';
import type { EnrichmentProvider } from '../../src/enrichment/orchestrator';
import type { SourceResult } from '../../src/enrichment/types';
import { createIncidentFlow } from '../../src/incidents/incident-flow';
import { parseIncident } from '../../src/incidents/parse-incident';
import { createLogger } from '../../src/logger';
import type { Db, Queryable } from '../../src/store/db';
import { getCurrentSeverity, upsertIncident } from '../../src/store/incident-repository';
import { demoIncident } from '../helpers/fixtures';
import { openTestDb, resetDb } from '../helpers/test-app';

/** Counts the statements that read an incident and its enrichment answers, as they reach the store. */
function countingDb(db: Db) {
  const reads = { incident: 0, enrichments: 0 };
  const count = (sql: string) => {
    if (/SELECT data, version FROM incidents WHERE key/.test(sql)) reads.incident += 1;
    if (/FROM enrichments WHERE incident_key/i.test(sql)) reads.enrichments += 1;
  };
  const wrap = (q: Queryable): Queryable => ({
    query: (sql, params) => (count(sql), q.query(sql, params)),
    exec: (sql) => q.exec(sql),
  });
  const counted: Db = { ...wrap(db), driver: db.driver, transaction: (fn) => db.transaction((tx) => fn(wrap(tx))), close: () => db.close() };
  return { db: counted, reads };
}

describe('the incident flow', () => {
  let intel: StandIn;
  let db: Db;
  beforeAll(async () => {
    intel = await startStandIn('intel', [{ method: 'GET', path: '/score/:value', handle: ({ params }) => ({ status: 200, body: { score: params.value === '203.0.113.66' ? 96 : 10 } }) }]);
    db = await openTestDb();
  });
  afterAll(async () => {
    await intel.close();
    await db.close();
  });
  beforeEach(() => resetDb(db));

  const intelProvider: EnrichmentProvider = {
    name: 'intel',
    supports: (i) => i.kind === 'ip',
    async lookup(i): Promise<SourceResult> {
      const body = (await (await fetch(`${intel.url}/score/${encodeURIComponent(i.value)}`)).json()) as { score: number };
      return { status: 'ok', source: 'intel', score: body.score, facts: {}, at: new Date().toISOString() };
    },
  };

  it('reads the incident and its answers once per enrichment flush, saves the assessment, then pages on it', async () => {
    const counting = countingDb(db);
    const considered: string[] = [];
    let kicks = 0;
    let refreshed = 0;
    const flow = createIncidentFlow({
      db: counting.db,
      providers: [intelProvider],
      logger: createLogger('silent'),
      kickOutbox: () => (kicks += 1),
      pager: {
        consider: async (_incident, severity) => (considered.push(severity), undefined),
        refresh: async () => void (refreshed += 1),
      },
    });
    const incident = parseIncident(demoIncident('brute-force-admin'), { portalUrl: 'https://portal.azure.com' });
    await upsertIncident(db, incident);

    flow.stored(incident);
    await flow.enricher.idle();
    expect(intel.requests('GET', '/score/:value')).toHaveLength(1);
    // What one flush reads, measured on its own.
    counting.reads.incident = 0;
    counting.reads.enrichments = 0;
    await flow.enriched(incident.key);
    expect(counting.reads).toEqual({ incident: 1, enrichments: 1 });

    expect(await getCurrentSeverity(db, incident.key)).toBe('High');
    // Stored: paged on Sentinel's severity; each flush: on Vigil's assessment.
    expect(considered).toEqual([incident.severity, 'High', 'High']);
    expect(kicks).toBe(3);
    expect(refreshed).toBe(2);
  });
});
