import { parseIncident } from '../../src/incidents/parse-incident';
import type { Severity } from '../../src/incidents/incident';
import type { Db } from '../../src/store/db';
import { claimDueCards, completeCard, listCardDeliveries, msUntilNextDelivery } from '../../src/store/card-queue';
import { saveConversation } from '../../src/store/conversation-repository';
import { foldWaitingCards, settleFoldedCards, type DigestPolicy } from '../../src/store/digest-fold';
import { claimDueDigests, completeDigest, getDigest } from '../../src/store/digest-queue';
import { bumpIncidentVersion, saveAssessedSeverity, upsertIncident } from '../../src/store/incident-repository';
import { demoIncident, subscribedChannel, withProperties } from '../helpers/fixtures';
import { emptyTables, storeDrivers } from '../helpers/store-drivers';

const portalUrl = 'https://portal.azure.com';
const policy: DigestPolicy = { foldAbove: 10, maxLines: 40, quietMs: 300_000 };

/** Incident `n` of a storm: its own ARM id and number, created a minute after the one before. */
const stormIncident = (n: number, severity: Severity = 'Low', changes: Record<string, unknown> = {}) => {
  const minute = String(n % 60).padStart(2, '0');
  const body = withProperties(demoIncident('unfamiliar-signin'), { incidentNumber: 5000 + n, severity, createdTimeUtc: `2026-11-24T${String(10 + Math.floor(n / 60))}:${minute}:00Z`, ...changes });
  body.object.id = body.object.id.replace(/[^/]+$/, `storm-${n}`);
  return parseIncident(body, { portalUrl });
};

describe.each(storeDrivers())('storm digests on $name', (driver) => {
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
    await saveConversation(db, subscribedChannel('c1', 'team-c1'));
  });

  const storm = async (count: number, severity: Severity = 'Low', from = 0) => {
    for (let n = from; n < from + count; n++) await upsertIncident(db, stormIncident(n, severity));
  };
  const folded = async () =>
    (await db.query<{ number: number; digest_id: number | null }>('SELECT i.number, ic.digest_id FROM incident_cards ic JOIN incidents i ON i.key = ic.incident_key ORDER BY i.number')).rows;

  it('leaves a short backlog alone: cards go out one by one', async () => {
    await storm(10);
    expect(await foldWaitingCards(db, policy)).toBe(0);
    expect(await claimDueCards(db, 50, 30_000)).toHaveLength(10);
    expect(await claimDueDigests(db, 10, 30_000)).toEqual([]);
  });

  it('folds every waiting lower-severity card into one digest, and never a High one', async () => {
    await storm(8, 'Low');
    await storm(4, 'Medium', 100);
    await storm(2, 'Informational', 200);
    await storm(3, 'High', 300);
    const assessed = stormIncident(400, 'Low');
    await upsertIncident(db, assessed);
    await saveAssessedSeverity(db, assessed.key, 'Critical');

    expect(await foldWaitingCards(db, policy)).toBe(14);
    const rows = await folded();
    expect(rows.filter((r) => r.digest_id !== null).map((r) => r.number)).toHaveLength(14);
    expect(rows.filter((r) => r.digest_id === null).map((r) => r.number)).toEqual([5300, 5301, 5302, 5400]);
    // Folded cards count as delivered through the digest: only the severe ones are left to post.
    const cards = await claimDueCards(db, 50, 30_000);
    expect(cards).toHaveLength(4);
    const [digestJob, ...others] = await claimDueDigests(db, 10, 30_000);
    expect(others).toEqual([]);
    const digest = await getDigest(db, digestJob!.digestId);
    expect(digest?.lines).toHaveLength(14);
    // Newest first.
    const created = digest!.lines.map((l) => l.incident.createdAt);
    expect([...created].sort().reverse()).toEqual(created);
  });

  it('starts another digest at the cap, oldest incidents in the first', async () => {
    await storm(45);
    expect(await foldWaitingCards(db, { ...policy, maxLines: 20 })).toBe(45);
    const digests = (await db.query<{ id: number; lines: number; sealed: boolean }>('SELECT id, lines, sealed_at IS NOT NULL AS sealed FROM digests ORDER BY id')).rows;
    expect(digests.map((d) => [d.lines, d.sealed])).toEqual([
      [20, true],
      [20, true],
      [5, false],
    ]);
    const first = await getDigest(db, Number(digests[0]!.id));
    expect(first!.lines.map((l) => l.incident.number).sort()).toEqual(Array.from({ length: 20 }, (_, n) => 5000 + n));
  });

  it('takes a storm’s tail into its digest, and starts afresh once the channel has been quiet', async () => {
    await storm(11);
    expect(await foldWaitingCards(db, policy)).toBe(11);
    const [job] = await claimDueDigests(db, 10, 30_000);
    await completeDigest(db, job!, 'activity-1');
    // One more while the storm is on: below the threshold, but it joins the digest, which is due again.
    await storm(1, 'Low', 11);
    expect(await foldWaitingCards(db, policy)).toBe(1);
    expect((await getDigest(db, job!.digestId))!.lines).toHaveLength(12);
    expect(await msUntilNextDelivery(db)).toBe(0);
    const [update] = await claimDueDigests(db, 10, 30_000);
    expect(update).toMatchObject({ digestId: job!.digestId, activityId: 'activity-1' });
    await completeDigest(db, update!, 'activity-1');

    await db.query(`UPDATE digests SET last_folded_at = now() - interval '10 minutes'`);
    await storm(1, 'Low', 12);
    expect(await foldWaitingCards(db, policy)).toBe(0);
    await storm(11, 'Low', 13);
    expect(await foldWaitingCards(db, policy)).toBe(12);
    const digests = (await db.query<{ lines: number; sealed: boolean }>('SELECT lines, sealed_at IS NOT NULL AS sealed FROM digests ORDER BY id')).rows;
    expect(digests).toEqual([
      { lines: 12, sealed: true },
      { lines: 12, sealed: false },
    ]);
  });

  it('never folds a card a sender has claimed', async () => {
    await storm(15);
    const claimed = await claimDueCards(db, 3, 30_000);
    expect(await foldWaitingCards(db, policy)).toBe(12);
    const rows = await folded();
    expect(
      rows
        .filter((r) => r.digest_id === null)
        .map((r) => r.number)
        .sort(),
    ).toEqual(claimed.map((c) => Number(c.incidentKey.match(/storm-(\d+)/)![1]) + 5000).sort());
  });

  it('lets two processes fold one channel without folding a card twice', async () => {
    await storm(60);
    const [a, b] = await Promise.all([foldWaitingCards(db, policy), foldWaitingCards(db, policy)]);
    // The loser of the channel lock folds nothing now; whatever is left, the next round takes.
    expect(a! + b! + (await foldWaitingCards(db, policy))).toBe(60);
    const rows = await folded();
    expect(rows.every((r) => r.digest_id !== null)).toBe(true);
    const digests = (await db.query<{ lines: number }>('SELECT lines FROM digests')).rows;
    expect(digests.reduce((sum, d) => sum + d.lines, 0)).toBe(60);
    expect(digests.length).toBe(2);
  });

  it('posts a digest once though two processes look for it', async () => {
    await storm(11);
    await foldWaitingCards(db, policy);
    const [a, b] = await Promise.all([claimDueDigests(db, 10, 30_000), claimDueDigests(db, 10, 30_000)]);
    expect(a!.length + b!.length).toBe(1);
  });

  it('updates the digest when a folded incident changes, and a replay changes nothing', async () => {
    await storm(11);
    await foldWaitingCards(db, policy);
    const [job] = await claimDueDigests(db, 10, 30_000);
    await completeDigest(db, job!, 'activity-1');
    expect(await upsertIncident(db, stormIncident(3))).toEqual({ kind: 'unchanged' });
    expect(await settleFoldedCards(db)).toEqual({ promoted: 0, settled: 0 });
    expect(await claimDueDigests(db, 10, 30_000)).toEqual([]);

    await upsertIncident(db, stormIncident(3, 'Low', { status: 'Active', lastModifiedTimeUtc: '2026-11-24T12:00:00Z' }));
    expect(await settleFoldedCards(db)).toEqual({ promoted: 0, settled: 1 });
    // Still delivered through the digest, not on its own…
    expect(await claimDueCards(db, 50, 30_000)).toEqual([]);
    // …which is due again, its line showing the change, and still once.
    const [update] = await claimDueDigests(db, 10, 30_000);
    const lines = (await getDigest(db, update!.digestId))!.lines;
    expect(lines).toHaveLength(11);
    expect(lines.find((l) => l.incident.number === 5003)?.incident.status).toBe('Active');
  });

  it('gives a folded incident its own card once it rises to High, and says so in the digest', async () => {
    await storm(11);
    await foldWaitingCards(db, policy);
    const [job] = await claimDueDigests(db, 10, 30_000);
    await completeDigest(db, job!, 'activity-1');
    const raised = stormIncident(4, 'High', { lastModifiedTimeUtc: '2026-11-24T12:00:00Z' });
    await upsertIncident(db, raised);
    // Enrichment's verdict counts too.
    const assessed = stormIncident(5);
    await saveAssessedSeverity(db, assessed.key, 'High');
    await bumpIncidentVersion(db, assessed.key);

    expect(await settleFoldedCards(db)).toEqual({ promoted: 2, settled: 2 });
    const cards = await claimDueCards(db, 50, 30_000);
    expect(cards.map((c) => c.incidentKey).sort()).toEqual([raised.key, assessed.key].sort());
    expect(cards.every((c) => c.activityId === undefined)).toBe(true);
    for (const c of cards) await completeCard(db, c, `own-${c.incidentKey}`);
    const [update] = await claimDueDigests(db, 10, 30_000);
    const lines = (await getDigest(db, update!.digestId))!.lines;
    expect(lines.filter((l) => l.ownCard).map((l) => [l.incident.number, l.assessedSeverity])).toEqual([
      [5005, 'High'],
      [5004, undefined],
    ]);
    // Later changes go to its own card, as for any other.
    await upsertIncident(db, stormIncident(4, 'High', { status: 'Active', lastModifiedTimeUtc: '2026-11-24T12:05:00Z' }));
    expect(await settleFoldedCards(db)).toEqual({ promoted: 0, settled: 0 });
    expect((await listCardDeliveries(db, raised.key))[0]).toMatchObject({ activityId: `own-${raised.key}`, sentVersion: 2, desiredVersion: 3 });
  });
});
