import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import type { Db } from '../../src/store/db';
import { ALEX, buttonsOf, click, eventually } from '../helpers/actions-setup';
import { demoIncident, withProperties } from '../helpers/fixtures';
import { botInstalledInTeam, CHANNEL_ID } from '../helpers/teams-activities';
import { openTestDb, resetDb, startTestApp, type TestApp } from '../helpers/test-app';

const contentOf = (activity: Record<string, unknown>): any => (activity.attachments as Array<{ content: unknown }>)[0]!.content;
const isDigest = (activity: Record<string, unknown>) => JSON.stringify(contentOf(activity)).includes('Storm digest');
/** The incident numbers a digest lists: one Open button per line. */
const digestNumbers = (activity: Record<string, unknown>) =>
  buttonsOf(contentOf(activity))
    .filter((b) => b.verb === 'digest.open')
    .map((b) => Number(b.data.incident));
const cardNumber = (activity: Record<string, unknown>) => Number(/Incident #(\d+)/.exec(JSON.stringify(contentOf(activity)))?.[1]);

/** Incident `n` of a storm, with its own ARM id and number. */
const stormIncident = (n: number, severity: string, changes: Record<string, unknown> = {}) => {
  const body = withProperties(demoIncident('unfamiliar-signin'), { incidentNumber: 7000 + n, severity, ...changes });
  body.object.id = body.object.id.replace(/[^/]+$/, `digest-storm-${n}`);
  return body;
};

describe('a storm in one channel: High incidents get their own cards, the rest fold into a digest', () => {
  let connector: BotConnectorStandIn;
  let t: TestApp;
  let db: Db;

  beforeAll(async () => {
    connector = await startBotConnector();
    db = await openTestDb();
  });
  afterAll(async () => {
    await connector.close();
    await db.close();
  });
  beforeEach(async () => {
    connector.reset();
    await resetDb(db);
    // Alex Wilber clicks the digest's buttons: a responder by name.
    t = await startTestApp({ VIGIL_RESPONDER_USER_IDS: ALEX.id }, { db });
    expect((await t.sendActivity(botInstalledInTeam(connector.url))).status).toBeLessThan(300);
  });
  afterEach(async () => {
    await t.close();
  });

  const sends = () => [...connector.requests('POST', '/v3/conversations/:id/activities'), ...connector.requests('PUT', '/v3/conversations/:id/activities/:activityId')];
  const shown = () => connector.conversation(CHANNEL_ID);
  const digests = () => shown().filter((a) => isDigest(a.versions.at(-1)!));
  const ownCards = () => shown().filter((a) => !isDigest(a.versions.at(-1)!));

  /** Never more than Teams allows in one conversation: 7 in any second, 8 in any two, 60 in any 30. */
  const expectWithinTeamsLimits = () => {
    const at = sends().map((r) => r.at);
    for (const start of at) {
      expect(at.filter((x) => x >= start && x < start + 1000).length).toBeLessThanOrEqual(7);
      expect(at.filter((x) => x >= start && x < start + 2000).length).toBeLessThanOrEqual(8);
      expect(at.filter((x) => x >= start && x < start + 30_000).length).toBeLessThanOrEqual(60);
    }
  };

  /** Incidents stored faster than any channel could take them: the outbox finds the whole storm waiting. */
  const stormWhileOutboxWaits = async (bodies: unknown[]) => {
    await t.app.outbox.stop();
    for (const body of bodies) expect((await t.postIncident(body)).status).toBe(202);
    t.app.outbox.start();
    await eventually(
      'the outbox to find the storm',
      async () => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM incident_cards WHERE sent_version < desired_version')).rows[0]!.n === 0,
    );
    await t.app.outbox.idle();
  };

  it('sends 60 Low and 3 High incidents as 3 cards and digests listing all 60, within the limits', async () => {
    const lows = Array.from({ length: 60 }, (_, n) => stormIncident(n, 'Low'));
    const highs = Array.from({ length: 3 }, (_, n) => stormIncident(100 + n, 'High'));
    await stormWhileOutboxWaits([...lows.slice(0, 30), ...highs, ...lows.slice(30)]);

    expect(
      ownCards()
        .map((a) => cardNumber(a.versions.at(-1)!))
        .sort(),
    ).toEqual([7100, 7101, 7102]);
    expect(ownCards().every((a) => JSON.stringify(contentOf(a.versions[0]!)).includes('HIGH'))).toBe(true);
    const listed = digests().flatMap((a) => digestNumbers(a.versions.at(-1)!));
    expect(listed.sort()).toEqual(Array.from({ length: 60 }, (_, n) => 7000 + n));
    // 40 lines a digest: two digest cards, each posted once.
    expect(digests()).toHaveLength(2);
    expect(connector.requests('POST', '/v3/conversations/:id/activities')).toHaveLength(5);
    const first = JSON.stringify(contentOf(digests()[0]!.versions.at(-1)!));
    expect(first).toMatch(/Storm digest #\d+ · (40|20) incidents/);
    expect(first).toContain('incident 70');
    expectWithinTeamsLimits();
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^vigil_cards_folded_total 60$/m);
  });

  it('loses and repeats nothing when the storm arrives while cards are going out', async () => {
    for (let n = 0; n < 60; n++) expect((await t.postIncident(stormIncident(n, n % 3 === 0 ? 'Medium' : 'Low'))).status).toBe(202);
    await eventually(
      'every card or digest line out',
      async () => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM incident_cards WHERE sent_version < desired_version')).rows[0]!.n === 0,
      20_000,
    );
    await t.app.outbox.idle();
    await eventually('digests settled', async () => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM digests WHERE sent_version < desired_version')).rows[0]!.n === 0, 20_000);
    await t.app.outbox.idle();
    // While the channel's budget lasts cards go alone; once they queue up, the rest fold.
    const alone = ownCards().map((a) => cardNumber(a.versions.at(-1)!));
    const folded = digests().flatMap((a) => digestNumbers(a.versions.at(-1)!));
    expect(folded.length).toBeGreaterThan(0);
    expect([...alone, ...folded].sort()).toEqual(Array.from({ length: 60 }, (_, n) => 7000 + n));
    expect(connector.requests('POST', '/v3/conversations/:id/activities').length).toBeLessThan(30);
    expectWithinTeamsLimits();
  }, 30_000);

  it('gives a folded Low incident its own card when it becomes High, and the digest says so', async () => {
    await stormWhileOutboxWaits(Array.from({ length: 12 }, (_, n) => stormIncident(n, 'Low')));
    expect(ownCards()).toHaveLength(0);
    const [digest] = digests();
    expect(digestNumbers(digest!.versions[0]!)).toHaveLength(12);

    expect((await t.postIncident(stormIncident(4, 'High', { lastModifiedTimeUtc: '2026-11-24T03:00:00Z' }))).body.outcome).toBe('updated');
    const [own] = await eventually('its own card', () => (ownCards().length > 0 ? ownCards() : undefined));
    await eventually('the digest updated', () => digest!.versions.length > 1);
    await t.app.outbox.idle();
    expect(cardNumber(own!.versions[0]!)).toBe(7004);
    expect(JSON.stringify(contentOf(own!.versions[0]!))).toContain('HIGH');
    const line = contentOf(digest!.versions.at(-1)!).body.find((b: any) => JSON.stringify(b).includes('#7004'));
    expect(JSON.stringify(line)).toContain('now High: posted as its own card');
    expect(digestNumbers(digest!.versions.at(-1)!)).toHaveLength(12);
    expect(digests()).toHaveLength(1);
  });

  it('updates a line in place for a change, and a replay adds no line', async () => {
    await stormWhileOutboxWaits(Array.from({ length: 12 }, (_, n) => stormIncident(n, 'Low')));
    const [digest] = digests();
    expect((await t.postIncident(stormIncident(2, 'Low'))).body.outcome).toBe('unchanged');
    expect((await t.postIncident(stormIncident(3, 'Low', { status: 'Active', lastModifiedTimeUtc: '2026-11-24T03:00:00Z' }))).body.outcome).toBe('updated');
    expect((await t.postIncident(stormIncident(3, 'Low', { status: 'Active', lastModifiedTimeUtc: '2026-11-24T03:00:00Z' }))).body.outcome).toBe('unchanged');
    await eventually('the digest updated', () => digest!.versions.length > 1);
    await t.app.outbox.idle();
    const latest = digest!.versions.at(-1)!;
    const numbers = digestNumbers(latest);
    expect(numbers).toHaveLength(12);
    expect(new Set(numbers).size).toBe(12);
    expect(JSON.stringify(latest)).toMatch(/#7003\*\* Sign-in from an unfamiliar location · Active/);
    expect(digest!.versions).toHaveLength(2);
    expect(shown()).toHaveLength(1);
    expect(connector.requests('POST', '/v3/conversations/:id/activities')).toHaveLength(1);
  });

  it('opens a line as the full incident card for the clicker, with the way back', async () => {
    await stormWhileOutboxWaits(Array.from({ length: 12 }, (_, n) => stormIncident(n, 'Informational')));
    const open = await click(t, connector.url, ALEX, 'digest.open', { incident: 7005 });
    expect(open.statusCode).toBe(200);
    expect(open.text).toContain('Incident #7005');
    expect(open.text).toContain('bob.risky@contoso.example');
    const back = buttonsOf(open.card).find((b) => b.verb === 'digest.show');
    expect(back).toBeDefined();
    const digest = await click(t, connector.url, ALEX, 'digest.show', back!.data);
    expect(digest.statusCode).toBe(200);
    expect(buttonsOf(digest.card).filter((b) => b.verb === 'digest.open')).toHaveLength(12);
    expect((await click(t, connector.url, ALEX, 'digest.open', { incident: 99_999 })).statusCode).toBe(404);
    expect((await click(t, connector.url, ALEX, 'digest.open', { incident: '7005; drop' })).statusCode).toBe(400);
    // Nothing was posted or changed for the channel by the clicks.
    expect(sends()).toHaveLength(1);
  });

  it('escapes markdown and links in incident titles', async () => {
    const title = '**URGENT** [reset your password](https://evil.example/login) <at>Everyone</at> # now';
    await stormWhileOutboxWaits(Array.from({ length: 12 }, (_, n) => stormIncident(n, 'Low', n === 7 ? { title } : {})));
    const text = JSON.stringify(contentOf(digests()[0]!.versions.at(-1)!));
    expect(text).not.toContain('**URGENT**');
    expect(text).not.toContain('](https://');
    expect(text).not.toContain('<at>');
    expect(text).toContain('\\\\*\\\\*URGENT\\\\*\\\\*');
    expect(text).not.toContain('https://evil');
    expect(text).toContain('(hxxps\\\\[://\\\\]evil.example/login)');
  });
});
