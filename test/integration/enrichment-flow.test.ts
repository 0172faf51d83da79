import { startBotConnector, type BotConnectorStandIn } from '../../sandbox/bot-connector';
import { startStandIn, type StandIn } from '../../sandbox/stand-in';
import type { EnrichmentProvider } from '../../src/enrichment/orchestrator';
import type { Indicator, SourceResult } from '../../src/enrichment/types';
import type { Db } from '../../src/store/db';
import { listEnrichments } from '../../src/store/enrichment-repository';
import { demoIncident } from '../helpers/fixtures';
import { botInstalledInTeam, CHANNEL_ID } from '../helpers/teams-activities';
import { openTestDb, resetDb, startTestApp, type TestApp } from '../helpers/test-app';

/**
 * A provider that asks a real HTTP stand-in for a score, with a timeout — the orchestrator's view
 * of any provider. The providers themselves are tested against their own stand-ins.
 */
const httpProvider = (name: string, upstream: StandIn, timeoutMs: number, kinds: Indicator['kind'][]): EnrichmentProvider => ({
  name,
  supports: (i) => kinds.includes(i.kind),
  async lookup(i): Promise<SourceResult> {
    const at = new Date().toISOString();
    try {
      const res = await fetch(`${upstream.url}/score/${encodeURIComponent(i.value)}`, { signal: AbortSignal.timeout(timeoutMs) });
      const body = (await res.json()) as { score: number };
      return { status: 'ok', source: name, score: body.score, facts: { seen: true }, at };
    } catch {
      return { status: 'unavailable', source: name, reason: `timed out after ${timeoutMs} ms`, at };
    }
  },
});

const cardText = (body: unknown) => JSON.stringify((body as { attachments: Array<{ content: unknown }> }).attachments[0]!.content);

describe('enrichment streams into the card', () => {
  let connector: BotConnectorStandIn;
  let intelA: StandIn;
  let intelB: StandIn;
  let db: Db;
  let t: TestApp | undefined;

  beforeAll(async () => {
    connector = await startBotConnector();
    const score = { method: 'GET', path: '/score/:value', handle: ({ params }: { params: Record<string, string> }) => ({ status: 200, body: { score: params.value === '203.0.113.66' ? 96 : 10 } }) };
    intelA = await startStandIn('intel-a', [score]);
    intelB = await startStandIn('intel-b', [score]);
    db = await openTestDb();
  });
  afterAll(async () => {
    await Promise.all([connector.close(), intelA.close(), intelB.close()]);
    await db.close();
  });
  beforeEach(async () => {
    connector.reset();
    intelA.reset();
    intelB.reset();
    await resetDb(db);
  });
  afterEach(async () => {
    await t?.close();
  });

  const start = async (timeoutMs: number) => {
    t = await startTestApp({}, { db, providers: [httpProvider('intel-a', intelA, timeoutMs, ['ip']), httpProvider('intel-b', intelB, timeoutMs, ['ip', 'account'])] });
    await t.sendActivity(botInstalledInTeam(connector.url));
    return t;
  };

  it('posts the card first, asks every source at once, then updates the card with the answers', async () => {
    intelA.set({ latencyMs: 1500 });
    intelB.set({ latencyMs: 1500 });
    const app = await start(5000);
    await app.postIncident(demoIncident('brute-force-admin'));
    const [post] = await connector.waitFor('POST', '/v3/conversations/:id/activities');
    expect(cardText(post!.body)).not.toContain('BLOCK IMMEDIATELY');
    // Three look-ups (two for the IP, one for the account) are all in flight before any answers:
    // one after another, the third would start only after 3 s.
    const asked = [...(await Promise.all([intelA.waitFor('GET', '/score/:v', 1, 1000), intelB.waitFor('GET', '/score/:v', 2, 1000)]))].flat();
    expect(asked).toHaveLength(3);
    await connector.waitFor('PUT', '/v3/conversations/:id/activities/:activityId', 1, 5000);
    await app.app.enricher.idle();
    await app.app.outbox.idle();
    const [card] = connector.conversation(CHANNEL_ID);
    const text = cardText(card!.versions.at(-1)!);
    expect(text).toContain('BLOCK IMMEDIATELY');
    expect(text).toContain('risk 96/100');
    expect(text).not.toContain('Enriching');
    expect(connector.conversation(CHANNEL_ID)).toHaveLength(1);
    expect(intelA.requests('GET', '/score/:v').map((r) => decodeURIComponent(r.path))).toEqual(['/score/203.0.113.66']);
  });

  it('never holds the card back for a provider that does not answer, and says it is unavailable', async () => {
    intelB.set({ hang: true });
    const app = await start(200);
    await app.postIncident(demoIncident('brute-force-admin'));
    await connector.waitFor('POST', '/v3/conversations/:id/activities');
    await app.app.enricher.idle();
    await app.app.outbox.idle();
    const last = connector.conversation(CHANNEL_ID)[0]!.versions.at(-1)!;
    const text = cardText(last);
    expect(text).toContain('intel-b');
    expect(text).toContain('unavailable — timed out after 200 ms');
    expect(text).toContain('BLOCK IMMEDIATELY');
  });

  it('stores results with the incident, so a restart does not look them up again', async () => {
    const app = await start(5000);
    await app.postIncident(demoIncident('brute-force-admin'));
    await app.app.enricher.idle();
    const key = (await db.query<{ key: string }>('SELECT key FROM incidents')).rows[0]!.key;
    expect((await listEnrichments(db, key)).map((e) => `${e.entityKind}:${e.source}`).sort()).toEqual(['account:intel-b', 'ip:intel-a', 'ip:intel-b']);
    await app.close();
    t = await start(5000);
    await t.app.enricher.resume();
    await t.app.enricher.idle();
    expect(intelA.requests('GET', '/score/:v')).toHaveLength(1);
  });
});
