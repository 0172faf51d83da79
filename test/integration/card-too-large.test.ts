import { messageSize, startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { startSandboxes, type Sandboxes } from '../../sandbox/sandboxes';
import { MAX_ACTIVITY_BYTES } from '../../src/cards/budget';
import { cardProblems } from '../helpers/card-validation';
import type { Db } from '../../src/store/db';
import { getIncidentByNumber } from '../../src/store/incident-repository';
import { demoIncident, withProperties } from '../helpers/fixtures';
import { botInstalledInTeam, CHANNEL_ID } from '../helpers/teams-activities';
import { openTestDb, resetDb, startTestApp, type TestApp } from '../helpers/test-app';

const ENTITIES = 150;

/** An incident with 150 entities: addresses, accounts and hosts with long names. */
const bigIncident = () =>
  withProperties(demoIncident('brute-force-admin'), {
    description: 'A storm of sign-ins. '.repeat(500),
    relatedEntities: Array.from({ length: ENTITIES }, (_, n) =>
      n % 3 === 0
        ? { kind: 'Ip', properties: { address: `198.51.100.${n % 250}`, friendlyName: `198.51.100.${n % 250}` } }
        : n % 3 === 1
          ? { kind: 'Account', properties: { accountName: `service.account.${n}.${'x'.repeat(80)}`, upnSuffix: 'contoso.example' } }
          : { kind: 'Host', properties: { hostName: `host-${n}-${'y'.repeat(60)}`, dnsDomain: 'corp.contoso.example' } },
    ),
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a card Teams refuses as too large', () => {
  let connector: BotConnectorStandIn;
  let db: Db;
  let t: TestApp;

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
    t = await startTestApp({}, { db });
    expect((await t.sendActivity(botInstalledInTeam(connector.url))).status).toBeLessThan(300);
  });
  afterEach(async () => {
    await t.close();
  });

  /** Every card send the connector saw, refused or not, in order. */
  const sends = () => [...connector.requests('POST', '/v3/conversations/:id/activities'), ...connector.requests('PUT', '/v3/conversations/:id/activities/:activityId')].sort((a, b) => a.at - b.at);

  it('is rendered again smaller and sent again, never unchanged, until one gets through', async () => {
    const limit = 6_000;
    connector.refuseLargerThan(limit);
    expect((await t.postIncident(bigIncident())).status).toBe(202);
    await connector.waitFor('POST', '/v3/conversations/:id/activities', 2);
    await t.app.outbox.idle();

    const shown = connector.conversation(CHANNEL_ID);
    expect(shown).toHaveLength(1);
    const delivered = shown[0]!.versions.at(-1)!;
    expect(messageSize(delivered)).toBeLessThanOrEqual(limit);
    const text = JSON.stringify(delivered);
    expect(text).toContain('Incident #1041');
    expect(text).toContain('Open in Sentinel');

    const attempts = sends().map((r) => JSON.stringify(r.body));
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(messageSize(JSON.parse(attempts[0]!))).toBeGreaterThan(limit);
    // Never the same card twice, and each one smaller than the one refused before it.
    expect(new Set(attempts).size).toBe(attempts.length);
    for (let n = 1; n < attempts.length; n++) expect(attempts[n]!.length).toBeLessThan(attempts[n - 1]!.length);

    // The stored incident keeps every entity: `entities 1041` lists them, a page at a time.
    expect((await getIncidentByNumber(db, 1041))!.incident.entities).toHaveLength(ENTITIES);
  });

  it('the sandbox connector, like Teams, refuses a message over 100 KB counted in UTF-16', async () => {
    const send = (chars: number) =>
      fetch(`${connector.url}/v3/conversations/${encodeURIComponent(CHANNEL_ID)}/activities`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'message', text: 'x'.repeat(chars) }),
      });
    const refused = await send(60_000);
    expect(refused.status).toBe(413);
    expect(await refused.json()).toMatchObject({ error: { code: 'MessageSizeTooBig' } });
    expect((await send(40_000)).status).toBe(201);
  });

  it('learns the size: the next version of that card starts small and is not refused again', async () => {
    connector.refuseLargerThan(6_000);
    await t.postIncident(bigIncident());
    await connector.waitFor('POST', '/v3/conversations/:id/activities', 2);
    await t.app.outbox.idle();
    const before = sends().length;
    await t.postIncident(withProperties(bigIncident(), { status: 'Active', lastModifiedTimeUtc: '2026-11-24T03:00:00Z', owner: { assignedTo: 'Megan Bowen' } }));
    await connector.waitFor('PUT', '/v3/conversations/:id/activities/:activityId');
    await t.app.outbox.idle();
    const later = sends().slice(before);
    expect(later).toHaveLength(1);
    expect(JSON.stringify(connector.conversation(CHANNEL_ID)[0]!.versions.at(-1))).toContain('Megan Bowen');
  });

  it('gives up on a version even its minimal card cannot carry, instead of retrying for ever', async () => {
    connector.refuseLargerThan(200);
    await t.postIncident(bigIncident());
    await connector.waitFor('POST', '/v3/conversations/:id/activities', 2);
    await t.app.outbox.idle();
    const attempts = sends().map((r) => JSON.stringify(r.body));
    expect(connector.conversation(CHANNEL_ID)).toHaveLength(0);
    expect(new Set(attempts).size).toBe(attempts.length);
    expect(attempts.length).toBeLessThanOrEqual(8);
    // Nothing left queued: a second later the connector has heard nothing more.
    await sleep(400);
    expect(sends()).toHaveLength(attempts.length);
  });
});

describe('the largest incident, enriched by every source', () => {
  let connector: BotConnectorStandIn;
  let sandboxes: Sandboxes;
  let db: Db;
  let t: TestApp;

  beforeAll(async () => {
    [connector, sandboxes, db] = await Promise.all([startBotConnector(), startSandboxes(), openTestDb()]);
    t = await startTestApp(sandboxes.env, { db });
    await t.sendActivity(botInstalledInTeam(connector.url));
  });
  afterAll(async () => {
    await t.close();
    await Promise.all([connector.close(), sandboxes.close()]);
    await db.close();
  });

  it('reaches Teams as activities of at most 28 KB (UTF-8, whole body), every version parser-clean', async () => {
    // 100 addresses (VirusTotal, AbuseIPDB and Log Analytics answer for each) and 50 accounts and hosts.
    const body = withProperties(bigIncident(), {
      title: `${'Password spray from a botnet '.repeat(40)}`.slice(0, 1_024),
      relatedEntities: [
        ...Array.from({ length: 100 }, (_, n) => ({ kind: 'Ip', properties: { address: `203.0.113.${n + 1}` } })),
        ...(bigIncident().object.properties.relatedEntities as unknown[]).slice(0, 50),
      ],
      alerts: Array.from({ length: 60 }, (_, n) => ({ properties: { productName: `Product ${n}`, tactics: ['CredentialAccess', 'InitialAccess'] } })),
    });
    expect((await t.postIncident(body)).status).toBe(202);
    await connector.waitFor('POST', '/v3/conversations/:id/activities');
    await t.app.enricher.idle();
    await t.app.outbox.idle();
    const versions = connector.conversation(CHANNEL_ID)[0]!.versions;
    const last = JSON.stringify(versions.at(-1));
    expect(last).toContain('BLOCK IMMEDIATELY');
    expect(last).toMatch(/…and \d+ more/);
    for (const v of versions) {
      expect(Buffer.byteLength(JSON.stringify(v), 'utf8')).toBeLessThanOrEqual(MAX_ACTIVITY_BYTES);
      expect(cardProblems((v.attachments as Array<{ content: unknown }>)[0]!.content)).toEqual([]);
    }
    // Nothing was refused on the way.
    expect(connector.requests().filter((r) => r.method !== 'GET')).toHaveLength(versions.length);
    process.stdout.write(`largest enriched incident activity: ${Math.max(...versions.map((v) => Buffer.byteLength(JSON.stringify(v), 'utf8')))} bytes over ${versions.length} versions\n`);
  }, 60_000);
});
