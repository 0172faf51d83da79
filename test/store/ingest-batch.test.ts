import { parseIncident } from '../../src/incidents/parse-incident';
import type { Db } from '../../src/store/db';
import { createIncidentGroupCommit } from '../../src/store/group-commit';
import { getIncident } from '../../src/store/incident-repository';
import { demoIncident, subscribedChannel, withProperties } from '../helpers/fixtures';
import { saveConversation } from '../../src/store/conversation-repository';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';

const portalUrl = 'https://portal.azure.com';
const incident = (n: number, changes: Record<string, unknown> = {}) => {
  const body = withProperties(demoIncident('brute-force-admin'), { incidentNumber: 9000 + n, ...changes }) as { object?: { id: string }; id?: string };
  const target = body.object ?? body;
  target.id = target.id!.replace(/[^/]+$/, `group-${n}`);
  return parseIncident(body, { portalUrl });
};

describe.each(storeDrivers())('grouped commits on $name', (driver) => {
  let db: Db;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ db, drop } = await driver.open());
  });
  afterAll(() => drop());
  beforeEach(async () => {
    await emptyTables(db);
    await saveConversation(db, subscribedChannel('c1'));
  });

  it('stores a storm in groups, each incident answered only once its commit is durable, with its card asked for', async () => {
    const group = createIncidentGroupCommit(db);
    const outcomes = await Promise.all(Array.from({ length: 60 }, (_, n) => group.upsert(incident(n))));
    expect(outcomes.every((o) => o.kind === 'created')).toBe(true);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM incidents')).rows[0]!.n).toBe(60);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM incident_cards')).rows[0]!.n).toBe(60);
  });

  it('gives one batched group the outcomes incidents get one by one: new, changed, replayed, stale, and one incident twice in order', async () => {
    const group = createIncidentGroupCommit(db);
    await group.upsert(incident(10, { lastModifiedTimeUtc: '2026-11-24T12:00:00Z' }));
    await group.upsert(incident(11, { lastModifiedTimeUtc: '2026-11-24T12:00:00Z' }));
    const outcomes = await Promise.all(
      [
        incident(12),
        incident(10, { title: 'changed', lastModifiedTimeUtc: '2026-11-24T12:05:00Z' }),
        incident(11, { lastModifiedTimeUtc: '2026-11-24T11:00:00Z' }),
        incident(13, { lastModifiedTimeUtc: '2026-11-24T12:00:00Z' }),
        incident(13, { title: 'changed again', lastModifiedTimeUtc: '2026-11-24T12:10:00Z' }),
        incident(12),
      ].map((i) => group.upsert(i)),
    );
    expect(outcomes.map((o) => o.kind)).toEqual(['created', 'updated', 'stale', 'created', 'updated', 'unchanged']);
    expect((await getIncident(db, incident(10).key))!).toMatchObject({ version: 2, incident: { title: 'changed' } });
    expect((await getIncident(db, incident(13).key))!).toMatchObject({ version: 2, incident: { title: 'changed again' } });
    const cards = await db.query<{ incident_key: string; desired_version: number }>('SELECT incident_key, desired_version FROM incident_cards ORDER BY incident_key');
    expect(cards.rows.map((r) => [r.incident_key, r.desired_version])).toEqual(
      [incident(10).key, incident(11).key, incident(12).key, incident(13).key].sort().map((k) => [k, k === incident(10).key || k === incident(13).key ? 2 : 1]),
    );
  });

  it('refuses only the incident the database refuses: the rest of its group commits', async () => {
    const group = createIncidentGroupCommit(db);
    const bad = incident(2);
    // PostgreSQL refuses a NUL in text: the one incident fails inside the grouped commit.
    (bad as { title: string }).title = 'broken \u0000 title';
    const results = await Promise.allSettled([incident(1), bad, incident(3), incident(1)].map((i) => group.upsert(i)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value.kind : 'refused'))).toEqual(['created', 'refused', 'created', 'unchanged']);
    expect(await getIncident(db, incident(1).key)).toBeDefined();
    expect(await getIncident(db, bad.key)).toBeUndefined();
    expect(await getIncident(db, incident(3).key)).toBeDefined();
  });
});
