import { parseIncident } from '../../src/incidents/parse-incident';
import type { Db } from '../../src/store/db';
import { claimDueCards, completeCard, listCardDeliveries, msUntilNextDelivery, retryCardLater } from '../../src/store/card-queue';
import { listSubscribedConversations, saveConversation, unsubscribeTeam } from '../../src/store/conversation-repository';
import { bumpIncidentVersion, getIncidentByNumber, listOpenIncidents, upsertIncident } from '../../src/store/incident-repository';
import { listEnrichments, listRecentOpenIncidentKeys, saveEnrichment, saveEnrichments } from '../../src/store/enrichment-repository';
import { migrate, migrations } from '../../src/store/migrations';
import { demoIncident, subscribedChannel, withProperties } from '../helpers/fixtures';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';

const portalUrl = 'https://portal.azure.com';
const incident = (name: string, changes: Record<string, unknown> = {}) => parseIncident(withProperties(demoIncident(name), changes), { portalUrl });

describe.each(storeDrivers())('store on $name', (driver) => {
  let db: Db;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    ({ db, drop } = await driver.open());
  });
  afterAll(async () => {
    await drop();
  });
  beforeEach(async () => {
    await emptyTables(db);
  });

  it('migrates once, however often it runs', async () => {
    expect(await migrate(db)).toEqual([]);
    const r = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(r.rows.map((x) => x.version)).toEqual(migrations.map((m) => m.version));
  });

  it('creates, ignores a replay, ignores a stale update, applies a newer one', async () => {
    await saveConversation(db, subscribedChannel('c1'));
    expect(await upsertIncident(db, incident('brute-force-admin'))).toEqual({ kind: 'created', version: 1 });
    expect(await upsertIncident(db, incident('brute-force-admin'))).toEqual({ kind: 'unchanged' });
    const newer = incident('brute-force-admin', { status: 'Active', lastModifiedTimeUtc: '2026-11-24T02:00:00Z' });
    expect(await upsertIncident(db, newer)).toEqual({ kind: 'updated', version: 2 });
    const older = incident('brute-force-admin', { status: 'Closed', lastModifiedTimeUtc: '2026-11-24T01:30:00Z' });
    expect(await upsertIncident(db, older)).toEqual({ kind: 'stale', storedLastModifiedAt: '2026-11-24T02:00:00.000Z' });
    const stored = await getIncidentByNumber(db, 1041);
    expect(stored?.incident.status).toBe('Active');
    expect(stored?.version).toBe(2);
  });

  it('asks for a card in every subscribed channel, and for the newest version only', async () => {
    await saveConversation(db, subscribedChannel('c1'));
    await saveConversation(db, subscribedChannel('c2', 'team-2'));
    await saveConversation(db, { ...subscribedChannel('chat'), kind: 'personal', subscribed: false });
    const i = incident('brute-force-admin');
    await upsertIncident(db, i);
    await upsertIncident(db, incident('brute-force-admin', { status: 'Active', lastModifiedTimeUtc: '2026-11-24T02:00:00Z' }));
    const deliveries = await listCardDeliveries(db, i.key);
    expect(deliveries.map((d) => [d.conversationId, d.desiredVersion, d.sentVersion])).toEqual([
      ['c1', 2, 0],
      ['c2', 2, 0],
    ]);
    expect(await unsubscribeTeam(db, 'team-2')).toBe(1);
    expect((await listSubscribedConversations(db)).map((c) => c.id)).toEqual(['c1']);
  });

  it('lets two claimers share the queue without ever taking the same card', async () => {
    for (let n = 0; n < 10; n++) await saveConversation(db, subscribedChannel(`c${n}`, `t${n}`));
    await upsertIncident(db, incident('brute-force-admin'));
    const [a, b] = await Promise.all([claimDueCards(db, 6, 30_000), claimDueCards(db, 6, 30_000)]);
    const keys = [...a!, ...b!].map((j) => j.conversationId);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBe(10);
    expect(await claimDueCards(db, 10, 30_000)).toEqual([]);
  });

  it('completes a card, and keeps a failed one for later', async () => {
    await saveConversation(db, subscribedChannel('c1'));
    await upsertIncident(db, incident('brute-force-admin'));
    const [job] = await claimDueCards(db, 1, 30_000);
    await retryCardLater(db, job!, 60_000, 'HTTP 429');
    expect(await claimDueCards(db, 1, 30_000)).toEqual([]);
    expect(await msUntilNextDelivery(db)).toBeGreaterThan(55_000);
    await db.query('UPDATE incident_cards SET next_attempt_at = now()');
    const [again] = await claimDueCards(db, 1, 30_000);
    expect(again!.attempts).toBe(2);
    await completeCard(db, again!, 'activity-1');
    expect(await msUntilNextDelivery(db)).toBeUndefined();
    const [delivery] = await listCardDeliveries(db, again!.incidentKey);
    expect(delivery).toMatchObject({ activityId: 'activity-1', sentVersion: 1, attempts: 0 });
  });

  it('lists open incidents most severe first, newest first', async () => {
    await upsertIncident(db, incident('unfamiliar-signin'));
    await upsertIncident(db, incident('powershell-web-01'));
    await upsertIncident(db, incident('brute-force-admin'));
    const closed = withProperties(demoIncident('brute-force-admin'), { incidentNumber: 999, status: 'Closed' });
    closed.object.id = closed.object.id.replace(/[^/]+$/, 'closed-incident');
    await upsertIncident(db, parseIncident(closed, { portalUrl }));
    expect((await listOpenIncidents(db, 10)).map((i) => i.number)).toEqual([1041, 1042, 1043]);
  });

  it('stores several answers in one statement as one by one: the last for an entity and source wins, an earlier one is replaced, fact order kept', async () => {
    const i = incident('brute-force-admin');
    await upsertIncident(db, i);
    const answer = (source: string, score: number) => ({ status: 'ok', source, score, facts: { z: 1, a: 2 }, at: 'now' });
    await saveEnrichments(db, i.key, [{ entityKind: 'ip', entityValue: '203.0.113.66', source: 'VirusTotal', result: answer('VirusTotal', 1) }]);
    await saveEnrichments(db, i.key, [
      { entityKind: 'ip', entityValue: '203.0.113.66', source: 'VirusTotal', result: answer('VirusTotal', 2) },
      { entityKind: 'ip', entityValue: '203.0.113.66', source: 'AbuseIPDB', result: answer('AbuseIPDB', 3) },
      { entityKind: 'ip', entityValue: '203.0.113.66', source: 'AbuseIPDB', result: answer('AbuseIPDB', 4) },
      { entityKind: 'account', entityValue: "o'brien@contoso.example", source: 'Entra ID', result: answer('Entra ID', 5) },
    ]);
    await saveEnrichments(db, i.key, []);
    const stored = await listEnrichments<ReturnType<typeof answer>>(db, i.key);
    expect(stored.map((e) => [e.entityKind, e.entityValue, e.source, e.result.score])).toEqual([
      ['account', "o'brien@contoso.example", 'Entra ID', 5],
      ['ip', '203.0.113.66', 'AbuseIPDB', 4],
      ['ip', '203.0.113.66', 'VirusTotal', 2],
    ]);
    expect(Object.keys(stored[0]!.result.facts)).toEqual(['z', 'a']);
  });

  it('stores enrichment results with the incident, keeps their fact order, and replaces a later answer', async () => {
    await saveConversation(db, subscribedChannel('c1'));
    const i = incident('brute-force-admin');
    await upsertIncident(db, i);
    const result = { status: 'ok', source: 'VirusTotal', score: 64, facts: { malicious: '58/90', country: 'NL', AS: 'AS64500' }, at: 'now' };
    await saveEnrichment(db, i.key, { entityKind: 'ip', entityValue: '203.0.113.66', source: 'VirusTotal', result: { ...result, score: 1 } });
    await saveEnrichment(db, i.key, { entityKind: 'ip', entityValue: '203.0.113.66', source: 'VirusTotal', result });
    const [stored] = await listEnrichments<typeof result>(db, i.key);
    expect(stored!.result).toEqual(result);
    expect(Object.keys(stored!.result.facts)).toEqual(['malicious', 'country', 'AS']);
    expect(await listRecentOpenIncidentKeys(db, 24)).toEqual([i.key]);
    // A refresh is a new version of the card, wanted in every subscribed channel.
    const [before] = await listCardDeliveries(db, i.key);
    expect(await bumpIncidentVersion(db, i.key)).toBe(before!.desiredVersion + 1);
    expect((await listCardDeliveries(db, i.key))[0]!.desiredVersion).toBe(before!.desiredVersion + 1);
  });

  it('keeps the audit append-only', async () => {
    await db.query(`INSERT INTO audit (actor, action, target) VALUES ('test', 'incident.received', 'x')`);
    await expect(db.query(`UPDATE audit SET actor = 'someone else'`)).rejects.toThrow(/append-only/);
    await expect(db.query('DELETE FROM audit')).rejects.toThrow(/append-only/);
  });
});
